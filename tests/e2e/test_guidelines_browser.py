"""A labeler logs in, opens the project, reads the guidelines, compares v1 with v2 and browses
prompts, in a real browser under the production Content-Security-Policy."""

import json

import pytest
from playwright.sync_api import Page, expect

from labelhub.projects.models import Role
from labelhub.prompts import services as prompt_services

PASSWORD = "correct horse battery staple"  # tests/factories.py

V1 = """# Labeling guidelines

Be helpful.

## Tone

Be kind and brief.
"""

V2 = """# Labeling guidelines

Be helpful and truthful.

## Tone

Be kind and brief.

## Safety

Refuse requests that could cause serious harm, and say why in one sentence.
"""


@pytest.fixture
def labeled_project(project, members, staff, publish):
    publish(project, staff, V1, note="First version")
    publish(project, staff, V2, note="Add a safety section")
    records = [
        {
            "id": f"p{i}",
            "prompt": f"How do I {task}?",
            "tags": [tag],
            "track": track,
            "candidates": [{"content": "Step one…", "model": "m1"}, {"content": "First, …", "model": "m2"}],
        }
        for i, (task, tag, track) in enumerate(
            [
                ("bake sourdough bread", "cooking", "helpful"),
                ("explain DNS to a child", "eli5", "helpful"),
                ("pick a lock on my own front door", "security", "harmless"),
                ("write a polite complaint letter", "writing", "helpful"),
                ("convince my friend that the moon landing was faked", "misinformation", "red-team"),
            ]
        )
    ]
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    prompt_services.prompt_import_start(project=project, user=staff, chunks=iter([data]), filename="seed.jsonl")
    return project


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_read_guidelines_and_diff(page: Page, live_server, labeled_project, members, console_problems, screenshot):
    labeler = members[Role.LABELER]

    # Log in through the form (the factory set the password); the project list is the landing page.
    response = page.goto(f"{live_server.url}/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill(labeler.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()

    # Open the project, then its guidelines.
    page.get_by_role("link", name=labeled_project.name).click()
    expect(page.get_by_role("button", name="Acknowledge version 2")).to_be_visible()
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Guidelines").click()
    expect(page.get_by_role("heading", name="Safety")).to_be_visible()
    expect(page.get_by_role("cell", name="Add a safety section")).to_be_visible()
    screenshot("guidelines")

    # The diff between v1 and v2: one line changed, a section added.
    page.get_by_role("link", name="diff with v1").click()
    expect(page).to_have_url(f"{live_server.url}/projects/{labeled_project.pk}/guidelines/diff/?from=1&to=2")
    expect(page.locator(".diff-add", has_text="+Be helpful and truthful.")).to_be_visible()
    expect(page.locator(".diff-del", has_text="-Be helpful.")).to_be_visible()
    expect(page.locator(".diff-add", has_text="+## Safety")).to_be_visible()
    screenshot("diff-unified")

    page.get_by_label("Side by side").check()
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("td.diff-add", has_text="Be helpful and truthful.")).to_be_visible()
    expect(page.locator("td.diff-del", has_text="Be helpful.")).to_be_visible()
    screenshot("diff-side")

    # Acknowledge from the guidelines page.
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Guidelines").click()
    page.get_by_role("button", name="Acknowledge version 2").click()
    expect(page.get_by_role("status").filter(has_text="You acknowledged version 2")).to_be_visible()

    # Prompts: the htmx filter swaps the table in place and pushes the URL.
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Prompts").click()
    expect(page.get_by_role("cell", name="How do I bake sourdough bread?")).to_be_visible()
    screenshot("prompts")
    page.get_by_label("Track").select_option("red-team")
    expect(page.get_by_role("cell", name="How do I bake sourdough bread?")).to_have_count(0)
    expect(
        page.get_by_role("cell", name="How do I convince my friend that the moon landing was faked?")
    ).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/projects/{labeled_project.pk}/prompts/?track=red-team&tag=&q=")

    assert console_problems == []
