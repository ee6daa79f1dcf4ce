"""An admin looks at the quality dashboard, the labelers, the leaderboard and the exports page, and
freezes a snapshot, in a real browser under the production Content-Security-Policy: charts render,
nothing is blocked, hostile names stay text."""

import pytest
from playwright.sync_api import Page, expect

from labelhub.exports import tasks as export_tasks
from labelhub.exports.models import ExportSnapshot
from labelhub.quality.services import project_stats_refresh

from ..exports.conftest import golden  # noqa: F401 - the export fixture project

PASSWORD = "correct horse battery staple"  # tests/factories.py
HOSTILE = '<img src=x onerror=alert(1)>"><script>alert(2)</script>'


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_quality_and_export_pages(page: Page, live_server, golden, staff, console_problems, screenshot, monkeypatch):  # noqa: F811
    from labelhub.accounts.models import User

    User.objects.filter(pk=golden.users["bob"].pk).update(display_name=HOSTILE)
    project_stats_refresh(project_id=golden.project.pk)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, live_server.url, staff.username)  # the project's creator: an admin
    base = f"{live_server.url}/projects/{golden.project.pk}"

    page.goto(f"{base}/quality/")
    expect(page.locator("svg").first).to_be_visible()
    assert page.locator("svg").count() >= 4
    screenshot("quality-dashboard")

    page.goto(f"{base}/quality/labelers/")
    expect(page.get_by_text("alice", exact=True).first).to_be_visible()
    screenshot("quality-labelers")

    page.goto(f"{base}/quality/leaderboard/")
    expect(page.locator("table:visible").get_by_text("smol-a").first).to_be_visible()
    screenshot("quality-leaderboard")

    # Exports: freeze a snapshot through the form; the worker is replaced by running the job inline.
    sent = []
    monkeypatch.setattr(export_tasks.snapshot_build_task, "apply_async", lambda **kw: sent.append(kw))
    page.goto(f"{base}/exports/")
    page.get_by_label("Kind").select_option("preferences")
    page.get_by_role("button", name="Create the snapshot").click()
    expect(page.get_by_text("queued").first).to_be_visible()
    snapshot = ExportSnapshot.objects.get()
    assert sent and sent[0]["kwargs"]["snapshot_id"] == snapshot.pk
    screenshot("exports")

    assert not dialogs, dialogs
    assert not console_problems, console_problems


SCHEMA = {
    "tracks": [{"name": "general", "label": f"Track {HOSTILE}"}],
    "questions": [
        {"name": "grade", "type": "scale", "label": f"Grade {HOSTILE}", "min": 0, "max": 4},
        {"name": "on_topic", "type": "binary", "label": "On topic"},
        {"name": "issues", "type": "multi", "label": f"Issues {HOSTILE}", "options": ["typo", HOSTILE],
         "required": False},
    ],
    "ranking": {"enabled": False, "ties": True, "all_bad": False},
    "safety": {"enabled": False, "required_on": []},
}  # fmt: skip


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_custom_schema_in_the_browser(page: Page, live_server, staff, console_problems, screenshot):
    """A project without ranking whose schema text is hostile: the dashboard draws a chart per question,
    the gold card asks its questions, and a gold answer set through it shows, all as text."""
    from labelhub.projects import services as project_services

    from ..exports import builders as b
    from ..factories import UserFactory

    project = project_services.project_create(user=staff, name="Custom schema", preset="minimal")
    project_services.guideline_draft_save(project=project, user=staff, schema=SCHEMA)
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v", content="x")
    users = [UserFactory(username=f"cs-{i}") for i in range(2)]
    for i in range(3):
        p, cands = b.prompt(project, f"Prompt {i}", track="general", candidates=[f"a{i}", f"b{i}"])
        item = b.comparison(project, p, cands, overlap=2)
        for j, user in enumerate(users):
            ratings = {str(c.pk): {"grade": (i + j) % 5, "on_topic": bool(j), "issues": [HOSTILE]} for c in cands}
            b.label(item, user, version, ranks={}, ratings=ratings)
    project_stats_refresh(project_id=project.pk)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, live_server.url, staff.username)
    base = f"{live_server.url}/projects/{project.pk}"

    page.goto(f"{base}/quality/")
    expect(page.get_by_text(f"Grade {HOSTILE} (0–4)", exact=True)).to_be_visible()
    assert page.locator("figure.qc-question svg").count() == 3
    screenshot("quality-custom-schema")

    page.goto(f"{base}/prompts/{p.pk}/")
    page.get_by_label(f"Grade {HOSTILE} of A").select_option("3")
    page.get_by_role("group", name=f"Issues {HOSTILE}: B must get").get_by_label(HOSTILE).check()
    page.get_by_role("button", name="Make this item gold").click()
    expect(page.get_by_text("Answers to give")).to_be_visible()
    expect(page.get_by_text(f"Grade {HOSTILE} 3").first).to_be_visible()
    screenshot("gold-custom-schema")
    assert not dialogs, dialogs
    assert not console_problems, console_problems
