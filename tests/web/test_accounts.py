import pytest
from django.urls import reverse

from labelhub.accounts.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b"<label" in response.content


def test_login_follows_a_safe_next_and_ignores_an_unsafe_one(client):
    user = UserFactory(username="ann")
    response = client.post(reverse("login"), {"username": "ann", "password": PASSWORD, "next": "/accounts/profile/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    client.logout()
    response = client.post(
        reverse("login"), {"username": user.username, "password": PASSWORD, "next": "https://evil.example/x"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:list")


def test_bad_password_shows_an_error(client):
    UserFactory(username="ann")
    response = client.post(reverse("login"), {"username": "ann", "password": "nope"})
    assert response.status_code == 200
    assert b"form-errors" in response.content


def test_logout_is_post_only(client):
    client.force_login(UserFactory())
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("profile")).status_code == 302  # logged out: back to login


def test_nav_has_a_logout_form_and_username(client):
    client.force_login(UserFactory(username="navuser"))
    html = client.get(reverse("projects:list")).content.decode()
    assert f'action="{reverse("logout")}"' in html
    assert "navuser" in html


def test_token_is_shown_once_then_only_its_prefix(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("profile"), {"name": "export script"})
    assert response.status_code == 302 and response["Location"] == reverse("profile")  # POST/redirect/GET
    token = ApiToken.objects.get(user=user)
    response = client.get(response["Location"])
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    # The key is on the page after the redirect, inside a readonly input for copying.
    start = html.index('id="new-token-key"')
    key = html[start:].split('value="', 1)[1].split('"', 1)[0]
    assert key.startswith(token.key_prefix)
    assert len(key) > 30
    # … and never again.
    html = client.get(reverse("profile")).content.decode()
    assert key not in html
    assert token.key_prefix in html
    assert "export script" in html


def test_reloading_the_result_page_creates_no_second_token(client):
    """A reload after creating a token re-GETs the profile (the POST was redirected): still one token,
    and the key is gone from the page."""
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("profile"), {"name": "nightly"}, follow=True)
    assert response.redirect_chain == [(reverse("profile"), 302)]
    assert 'id="new-token-key"' in response.content.decode()
    reloaded = client.get(response.request["PATH_INFO"])  # what the browser's reload sends
    assert reloaded.status_code == 200 and 'id="new-token-key"' not in reloaded.content.decode()
    assert ApiToken.objects.filter(user=user).count() == 1


def test_token_name_is_required_and_escaped(client):
    client.force_login(UserFactory())
    assert client.post(reverse("profile"), {"name": "  "}).status_code == 400
    client.post(reverse("profile"), {"name": "<b>x</b>"})
    html = client.get(reverse("profile")).content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html


def test_revoke_token(client):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("profile"), {"name": "old"})
    token = ApiToken.objects.get(user=user)
    assert client.get(reverse("token-revoke", args=[token.pk])).status_code == 405
    response = client.post(reverse("token-revoke", args=[token.pk]), follow=True)
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert b"Revoked" in response.content


def test_cannot_revoke_someone_elses_token(client):
    owner = UserFactory(username="owner")
    client.force_login(owner)
    client.post(reverse("profile"), {"name": "mine"})
    token = ApiToken.objects.get(user=owner)
    client.force_login(UserFactory(username="thief"))
    assert client.post(reverse("token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_profile_requires_login(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_repeated_failed_logins_lock_that_username_from_that_address(client, settings):
    """django-axes: AXES_FAILURE_LIMIT wrong passwords lock the (username, address) pair; the right
    password is then refused too, with a 429 page; another account is not affected; the lock lifts."""
    from axes.models import AccessAttempt
    from axes.utils import reset

    UserFactory(username="victim")
    UserFactory(username="bystander")
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(url, {"username": "victim", "password": "guess"})
        assert response.status_code in (200, 429)
    locked = client.post(url, {"username": "victim", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content and "_auth_user_id" not in client.session
    other = client.post(url, {"username": "bystander", "password": PASSWORD})
    assert other.status_code == 302  # a different account from the same address still logs in
    assert AccessAttempt.objects.filter(username="victim").exists()
    reset(username="victim")  # what an admin (or the cool-off) does
    assert client.post(url, {"username": "victim", "password": PASSWORD}).status_code == 302
