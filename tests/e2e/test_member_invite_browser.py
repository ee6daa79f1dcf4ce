"""An admin creates an account on the members page and copies the one-time link; the invitee opens it
in their own browser, is refused a weak password, sets a good one and lands in the project, logged in.
The link then works no more."""

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import Browser, Page, expect

from labelhub.accounts.models import User
from labelhub.projects.models import Membership, Role

PASSWORD = "correct horse battery staple"  # tests/factories.py
NEW_PASSWORD = "a quiet violet harbour"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_admin_invites_and_the_invitee_lands_in_the_project(
    page: Page, browser: Browser, live_server, project, members, console_problems
):
    cache.clear()
    admin = members[Role.ADMIN]
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/projects/{project.pk}/members/")

    create = page.locator("section", has=page.get_by_role("heading", name="Create an account"))
    create.get_by_label("New username").fill("newcomer")
    create.get_by_label("E-mail (optional)").fill("newcomer@example.org")
    create.get_by_label("Role").select_option(Role.REVIEWER)
    create.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Set-password link for newcomer")).to_be_visible()
    link = page.get_by_role("textbox", name="Set-password link").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/accounts/set-password/[\w-]{{40,}}/", link)
    expect(page.get_by_role("row", name=re.compile("newcomer"))).to_contain_text("no password yet")
    page.reload()
    expect(page.get_by_role("textbox", name="Set-password link")).to_have_count(0)  # shown once

    invitee = browser.new_context().new_page()
    invitee.goto(link)
    expect(invitee).to_have_url(f"{live_server.url}/accounts/set-password/")  # the token left the address bar
    expect(invitee.get_by_role("heading", name="Choose your password")).to_be_visible()
    invitee.get_by_label("New password", exact=True).fill("12345678")
    invitee.get_by_label("New password again").fill("12345678")
    invitee.get_by_role("button", name="Set password and log in").click()
    expect(invitee.get_by_text("This password is entirely numeric.")).to_be_visible()
    invitee.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    invitee.get_by_label("New password again").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Set password and log in").click()
    expect(invitee).to_have_url(f"{live_server.url}/projects/{project.pk}/")
    expect(invitee.get_by_text("Welcome, newcomer.")).to_be_visible()

    user = User.objects.get(username="newcomer")
    assert user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(project=project, user=user).role == Role.REVIEWER

    again = browser.new_context().new_page()
    again.goto(link)
    expect(again.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    expect(again.get_by_text("used already")).to_be_visible()
