"""Self-service password change (Django's PasswordChangeView): old password, validators, the session
kept and the user's other sessions ended."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py
NEW = "a new and quite long passphrase 7"
URL = "/accounts/profile/password/"


def test_the_route_and_the_link_on_the_profile(client):
    assert reverse("password-change") == URL
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(UserFactory())
    assert f'href="{URL}"' in client.get(reverse("profile")).content.decode()
    page = client.get(URL)
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    for name in ("old_password", "new_password1", "new_password2", "csrfmiddlewaretoken"):
        assert f'name="{name}"' in page.content.decode()


def test_every_user_changes_their_password_and_stays_logged_in_here_only(client):
    user = UserFactory(username="labeler-1")  # no staff, no project: every user may
    elsewhere = Client()
    elsewhere.force_login(user)
    assert client.post(reverse("login"), {"username": "labeler-1", "password": PASSWORD}).status_code == 302
    response = client.post(URL, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}, follow=True)
    assert response.redirect_chain == [(reverse("profile"), 302)]
    assert b"Password changed" in response.content
    user.refresh_from_db()
    assert user.check_password(NEW) and not user.check_password(PASSWORD)
    assert client.get(reverse("profile")).status_code == 200  # this session kept
    assert elsewhere.get(reverse("profile")).status_code == 302  # the other one ended


@pytest.mark.parametrize(
    "data, field",
    [
        ({"old_password": "wrong", "new_password1": NEW, "new_password2": NEW}, "old_password"),
        ({"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW + "x"}, "new_password2"),
        ({"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"}, "new_password2"),
        ({"old_password": PASSWORD, "new_password1": "", "new_password2": ""}, "new_password1"),
    ],
)
def test_a_refused_change_shows_the_form_again_and_changes_nothing(client, data, field):
    user = UserFactory()
    client.force_login(user)
    response = client.post(URL, data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert client.get(reverse("profile")).status_code == 200
