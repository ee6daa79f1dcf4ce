"""Project admins create accounts from the members page (and the API) and pass on a one-time
set-password link: single use, expiring, stored hashed, throttled like logins."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from labelhub.accounts.models import SetPasswordLink, User, hash_token
from labelhub.projects.models import Membership, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD = "a quiet violet harbour"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def _members_url(project):
    return reverse("projects:members", args=[project.pk])


def _create(client, project, username="newbie", role=Role.LABELER, email=""):
    return client.post(_members_url(project), {"action": "create", "username": username, "email": email, "role": role})


def _link_path(html: str) -> str:
    match = re.search(r'id="new-link-url"[^>]*value="https?://[^/"]+(/accounts/set-password/[^"]+/)"', html)
    assert match, "the link is not on the page"
    return match.group(1)


def _admin_creates(client_for, members, project, **kwargs):
    client = client_for(members[Role.ADMIN])
    response = _create(client, project, **kwargs)
    assert response.status_code == 302, response.content.decode()[:2000]
    return _link_path(client.get(_members_url(project)).content.decode())


def test_admin_creates_an_account_and_sees_the_link_once(project, members, client_for):
    client = client_for(members[Role.ADMIN])
    response = _create(client, project, username="newbie", role=Role.REVIEWER, email="newbie@example.org")
    assert response.status_code == 302 and response["Location"] == _members_url(project)
    user = User.objects.get(username="newbie")
    assert not user.has_usable_password() and user.email == "newbie@example.org"
    assert Membership.objects.get(project=project, user=user).role == Role.REVIEWER
    page = client.get(_members_url(project)).content.decode()
    path = _link_path(page)
    token = path.rstrip("/").rsplit("/", 1)[1]
    link = SetPasswordLink.objects.get(user=user)
    assert link.token_hash == hash_token(token) and token not in str(SetPasswordLink.objects.values_list())
    assert timedelta(hours=71) < link.expires_at - timezone.now() <= timedelta(hours=72)
    assert "no password yet" in page
    reloaded = client.get(_members_url(project)).content.decode()
    assert token not in reloaded and 'id="new-link-url"' not in reloaded


def test_invitee_sets_a_password_and_lands_in_the_project(project, members, client_for):
    path = _admin_creates(client_for, members, project)
    invitee = client_for(None)
    opened = invitee.get(path)
    assert opened.status_code == 302 and opened["Location"] == reverse("set-password")
    form = invitee.get(reverse("set-password"))
    assert form.status_code == 200 and "newbie" in form.content.decode()
    done = invitee.post(reverse("set-password"), {"password1": GOOD, "password2": GOOD})
    assert done.status_code == 302 and done["Location"] == reverse("projects:detail", args=[project.pk])
    assert invitee.get(done["Location"]).status_code == 200  # logged in, a member
    user = User.objects.get(username="newbie")
    assert user.check_password(GOOD)
    # Single use: the same link again, in a fresh browser.
    again = client_for(None).get(path)
    assert again.status_code == 410 and "used already" in again.content.decode()
    assert client_for(None).post(reverse("set-password"), {"password1": GOOD, "password2": GOOD}).status_code == 404


@pytest.mark.parametrize(
    ("password1", "password2", "field_text"),
    [
        ("short", "short", "too short"),
        ("12345678901", "12345678901", "entirely numeric"),
        ("password123", "password123", "too common"),
        ("newbie123", "newbie123", "too similar"),
        (GOOD, GOOD + "x", "differ"),
    ],
)
def test_weak_or_mismatched_passwords_are_refused_and_the_link_still_works(
    project, members, client_for, password1, password2, field_text
):
    path = _admin_creates(client_for, members, project)
    invitee = client_for(None)
    invitee.get(path)
    refused = invitee.post(reverse("set-password"), {"password1": password1, "password2": password2})
    assert refused.status_code == 400 and field_text in refused.content.decode()
    assert not User.objects.get(username="newbie").has_usable_password()
    assert invitee.post(reverse("set-password"), {"password1": GOOD, "password2": GOOD}).status_code == 302


def test_expired_and_forged_links_are_clear_pages(project, members, client_for):
    path = _admin_creates(client_for, members, project)
    SetPasswordLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client_for(None).get(path)
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    for forged in ("x" * 43, "%E0%A5%A7", "a" * 500, "..", "lh_" + "A" * 40):
        response = client_for(None).get(f"/accounts/set-password/{forged}/")
        assert response.status_code == 404, forged
        assert "not valid" in response.content.decode()
    # Without a link in the session, the form page says so.
    assert client_for(None).get(reverse("set-password")).status_code == 404


def test_a_link_expiring_while_the_form_is_open_is_refused(project, members, client_for):
    path = _admin_creates(client_for, members, project)
    invitee = client_for(None)
    invitee.get(path)
    SetPasswordLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = invitee.post(reverse("set-password"), {"password1": GOOD, "password2": GOOD})
    assert refused.status_code == 410
    assert not User.objects.get(username="newbie").has_usable_password()


def test_forged_links_lock_the_address_out(project, members, client_for, settings):
    settings.SET_PASSWORD_LINK_FAILURE_LIMIT = 3
    path = _admin_creates(client_for, members, project)
    client = client_for(None)
    for i in range(3):
        assert client.get(f"/accounts/set-password/forged{i}/").status_code == 404
    locked = client.get(path)  # even the real link, from this address, for the cool-off
    assert locked.status_code == 429 and "Too many invalid links" in locked.content.decode()
    cache.clear()
    assert client.get(path).status_code == 302


@pytest.mark.parametrize("role", [Role.LABELER, Role.REVIEWER, Role.ENGINEER, "outsider"])
def test_only_admins_create_accounts(project, members, client_for, api, role):
    expected = 404 if role == "outsider" else 403
    assert _create(client_for(members[role]), project).status_code == expected
    body = {"username": "newbie", "role": "labeler", "create": True}
    assert api(members[role]).post(f"/api/v1/projects/{project.pk}/members", body, format="json").status_code == (
        expected
    )
    assert not User.objects.filter(username="newbie").exists()


def test_an_admin_of_another_project_gets_404(project, make_project, members, client_for, api):
    other = make_project("Other")
    Membership.objects.create(project=other, user=members["outsider"], role=Role.ADMIN)
    assert _create(client_for(members["outsider"]), project).status_code == 404
    body = {"username": "newbie", "role": "labeler", "create": True}
    response = api(members["outsider"]).post(f"/api/v1/projects/{project.pk}/members", body, format="json")
    assert response.status_code == 404 and not User.objects.filter(username="newbie").exists()


def test_names_in_use_are_refused_and_counted(project, members, client_for):
    UserFactory(username="taken", email="taken@example.org")
    client = client_for(members[Role.ADMIN])
    for username, email in (("taken", ""), ("TAKEN", ""), ("fresh", "Taken@Example.org")):
        response = _create(client, project, username=username, email=email)
        assert response.status_code == 409 and "already in use" in response.content.decode()
    bad = _create(client, project, username="bad name!", email="not-an-address")
    assert bad.status_code == 400
    assert User.objects.filter(username__iexact="fresh").count() == 0


def test_name_probes_are_throttled_per_admin(project, members, client_for, monkeypatch):
    from labelhub.accounts import throttle

    monkeypatch.setattr(throttle.ACCOUNT_NAME_PROBES, "_limit", 2)
    UserFactory(username="taken")
    client = client_for(members[Role.ADMIN])
    assert [_create(client, project, username="taken").status_code for _ in range(3)] == [409, 409, 429]
    assert _create(client, project, username="fresh").status_code == 429  # locked out, even for a free name


def test_add_an_existing_colleague_by_email(project, make_project, members, client_for):
    colleague = UserFactory(username="colleague", email="Colleague@Example.org")
    side = make_project("Side")
    for user in (members[Role.ADMIN], colleague):
        Membership.objects.create(project=side, user=user, role=Role.LABELER)
    response = client_for(members[Role.ADMIN]).post(
        _members_url(project), {"username": "colleague@example.org", "role": Role.LABELER}
    )
    assert response.status_code == 302
    assert Membership.objects.filter(project=project, user=colleague).exists()


def test_api_creates_an_account_and_returns_the_link_once(project, members, api, client_for):
    client = api(members[Role.ADMIN])
    url = f"/api/v1/projects/{project.pk}/members"
    response = client.post(url, {"username": "apinew", "role": "labeler", "create": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "apinew" and body["emailed"] is False
    path = re.sub(r"^https?://[^/]+", "", body["set_password_url"])
    assert client_for(None).get(path).status_code == 302
    listing = client.get(url).content.decode()
    assert "set-password" not in listing
    again = client.post(url, {"username": "apinew", "role": "labeler", "create": True}, format="json")
    assert again.status_code == 409 and again.json()["extra"]["fields"]["username"] == ["Already in use."]
    wrong = client.post(url, {"username": "x", "role": "labeler", "email": "x@example.org"}, format="json")
    assert wrong.status_code == 400


def test_the_link_is_emailed_when_a_mail_server_is_configured(project, members, client_for, settings):
    settings.EMAIL_HOST = "smtp.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    path = _admin_creates(client_for, members, project, email="newbie@example.org")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newbie@example.org"]
    assert path in mail.outbox[0].body


def test_no_mail_without_a_mail_server(project, members, client_for, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _admin_creates(client_for, members, project, email="newbie@example.org")
    assert mail.outbox == []


def test_a_new_link_for_a_member_without_a_password_retires_the_old_one(project, members, client_for):
    old_path = _admin_creates(client_for, members, project)
    client = client_for(members[Role.ADMIN])
    membership = Membership.objects.get(project=project, user__username="newbie")
    response = client.post(reverse("projects:member-link", args=[project.pk, membership.pk]))
    assert response.status_code == 302
    new_path = _link_path(client.get(_members_url(project)).content.decode())
    assert new_path != old_path
    assert client_for(None).get(old_path).status_code == 410
    assert client_for(None).get(new_path).status_code == 302
    # A member with a password gets none.
    labeler = Membership.objects.get(project=project, user=members[Role.LABELER])
    refused = client.post(reverse("projects:member-link", args=[project.pk, labeler.pk]))
    assert refused.status_code == 409 and "has a password already" in refused.content.decode()
