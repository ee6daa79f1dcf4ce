"""Close the loop in a real browser: a reviewer sends a condemned answer to be fixed from the run's
triage page (by keyboard: the item is swapped in place by htmx), then a labeler gets the fix task in
the workbench, already started from that answer, edits it and submits: the label's source is the
condemned answer."""

import pytest
from playwright.sync_api import Page, expect

from labelhub.evaluation.models import TriageItem
from labelhub.evaluation.services.triage import triage_items_create
from labelhub.labeling.models import Label
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from tests.evaluation import triage_builders as tb
from tests.workbench_helpers import configure, make_prompt

from .test_workbench_browser import login

pytestmark = pytest.mark.django_db(transaction=True)

CONDEMNED = "The Berlin Wall fell in 1991."


@pytest.fixture
def condemned(project, members, staff, publish):
    project = configure(project, comparisons=False)
    version = publish(project, staff, "# Guidelines\n\nBe accurate.")
    prompt = make_prompt(project, "When did the Berlin Wall fall? <script>alert(1)</script>")
    run = tb.run(tb.evaluation_set(project, [prompt]))
    pair = tb.pair(run, prompt, test_text=CONDEMNED, baseline_text="It fell on 9 November 1989.")
    tb.judge(pair, members[Role.ENGINEER], version, result="loss", flags=["inaccurate"], rationale="Wrong year.")
    triage_items_create(run=run)
    labeler = members[Role.LABELER]
    project_services.guideline_acknowledge(project=project, user=labeler, number=version.number)
    return {"project": project, "run": run, "item": TriageItem.objects.get(run=run), "labeler": labeler,
            "reviewer": members[Role.REVIEWER]}  # fmt: skip


def test_reviewer_sends_to_fix_and_labeler_fixes(page: Page, live_server, condemned, console_problems, screenshot):
    project, run, item = condemned["project"], condemned["run"], condemned["item"]
    target = f"/projects/{project.pk}/evaluation/runs/{run.pk}/triage/"
    login(page, live_server, condemned["reviewer"], target)
    expect(page).to_have_url(f"{live_server.url}{target}")
    card = page.locator(f"#triage-{item.pk}")
    expect(card).to_contain_text(CONDEMNED)
    expect(card).to_contain_text("Wrong year.")
    expect(card).to_contain_text("inaccurate")
    screenshot("triage-run")

    page.evaluate("() => { window.__stayed = true; }")  # gone if the page reloads
    fix = card.get_by_role("button", name="Fix", exact=True)
    fix.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#triage-{item.pk} [data-status='fix']")).to_be_visible()
    expect(page.locator(f"#triage-{item.pk}")).to_contain_text("waits for a labeler")
    assert page.evaluate("() => window.__stayed === true")
    item.refresh_from_db()
    assert item.status == "fix" and item.fix_work_item_id is not None

    page.context.clear_cookies()
    workbench = f"/projects/{project.pk}/label/"
    login(page, live_server, condemned["labeler"], workbench)
    expect(page).to_have_url(f"{live_server.url}{workbench}")
    expect(page.get_by_role("heading", name="Write the ideal answer")).to_be_visible()
    expect(page.locator("#wb-fix-note")).to_contain_text("Fix this answer")
    expect(page.locator("#wb-fix-note")).to_contain_text("lost")
    answer = page.get_by_label("Your ideal answer")
    expect(answer).to_have_value(CONDEMNED)
    expect(page.locator("#wb-source-note")).to_contain_text("Started from answer 1")
    screenshot("triage-fix-workbench")
    answer.fill("The Berlin Wall fell on 9 November 1989.")
    answer.focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-status")).to_contain_text(f"Task #{item.fix_work_item_id} submitted")
    label = Label.objects.get(work_item_id=item.fix_work_item_id)
    assert label.source_candidate_id == item.candidate_id
    assert label.original_content == CONDEMNED and label.content == "The Berlin Wall fell on 9 November 1989."
    assert "model-under-test" not in page.content()
    assert not console_problems, console_problems
