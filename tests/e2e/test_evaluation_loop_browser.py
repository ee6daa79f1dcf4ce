"""The evaluation loop in a real browser, with a real Celery worker generating the answers on the fake
OpenAI-compatible server: an admin creates an evaluation set and starts a run in the UI; a labeler labels
its pairs by keyboard in the workbench; the run finishes by itself; the admin reads the report (score,
wins / ties / losses, charts), sends a losing answer to be fixed from the triage page; the labeler writes
the fix in the workbench (started from the condemned answer); the fix is a row of the SFT export whose
metadata names the evaluation run."""

import orjson
import pytest
from playwright.sync_api import Page, expect

from labelhub.evaluation.models import EvaluationPair, EvaluationRun, EvaluationSet, RunStatus, TriageItem
from labelhub.labeling.models import Assignment, Label, WorkItem
from labelhub.projects.models import Role
from tests.evaluation.runs_world import make_config
from tests.processes import require_services, start_worker, stop, wait_for
from tests.workbench_helpers import configure, make_prompt, ready

from .test_workbench_browser import expected_failures, login

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

N_PROMPTS = 10  # the report's MIN_PAIRS: the score has a value
LOSSES = 3  # the labeler prefers the baseline on the first three pairs served


@pytest.fixture
def worker(tmp_path, fake_server):  # started once the fake server's address is allowed
    require_services()
    proc = start_worker(tmp_path, "inference,default,fast")
    yield proc
    stop(proc)


@pytest.fixture
def world(project, members, staff, publish, fake_server):
    fake_server.reply = lambda body: f"{body['model'].upper()} answer to: {body['messages'][-1]['content']}"
    project = configure(project, k=2)
    for i in range(N_PROMPTS):
        make_prompt(project, f"Evaluation question {i}?", track="helpful")
    labeler = members[Role.LABELER]
    # Training demonstrations of these prompts exist before the set holds them out: creating the set
    # drops them (else the labeler would be served one, showing the runs' answers).
    ready(project, labeler, publish, staff)
    assert WorkItem.objects.filter(project=project, purpose="").count() == N_PROMPTS
    make_config(project, fake_server.base_url, "new")
    make_config(project, fake_server.base_url, "old")
    return {"project": project, "admin": staff, "labeler": labeler}


def _create_set_and_run(page: Page, live_server, project, admin) -> EvaluationRun:
    login(page, live_server, admin, f"/projects/{project.pk}/evaluation/sets/new/")
    page.get_by_label("Name").fill("smoke")
    page.get_by_label("Track").select_option("helpful")
    page.get_by_role("button", name="Create the set").click()
    evaluation_set = EvaluationSet.objects.get(project=project, name="smoke")
    expect(page).to_have_url(f"{live_server.url}/projects/{project.pk}/evaluation/sets/{evaluation_set.pk}/")
    assert evaluation_set.prompt_count == N_PROMPTS
    page.get_by_role("link", name="Start a run").click()
    page.get_by_label("Model under test").select_option(label="new")
    page.get_by_label("Another model config").check()
    page.get_by_label("Baseline model config").select_option(label="old")
    page.get_by_label("Labels per pair").fill("1")
    page.get_by_role("button", name="Start the run").click()
    run = EvaluationRun.objects.get(evaluation_set=evaluation_set)
    expect(page).to_have_url(f"{live_server.url}/projects/{project.pk}/evaluation/runs/{run.pk}/")
    return run


def _label_by_keyboard(page: Page, live_server, project, labeler, run) -> None:
    """Every pair by keys only: the rank order (best first), three HHH ratings per answer, a strength,
    Ctrl+Enter. The answer under test loses the first LOSSES pairs and wins the others."""
    login(page, live_server, labeler, f"/projects/{project.pk}/label/")
    tests = dict(EvaluationPair.objects.filter(run=run).values_list("work_item_id", "candidate_id"))
    for n in range(N_PROMPTS):
        expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
        wait_for(lambda n=n: Assignment.objects.filter(user=labeler).count() == n + 1, timeout=10, what="the claim")
        assignment = Assignment.objects.filter(user=labeler).latest("pk")
        shown = [int(c) for c in assignment.display_order]
        test_at = shown.index(tests[assignment.work_item_id]) + 1
        best = 3 - test_at if n < LOSSES else test_at
        for key in f"{best}{3 - best}" + "777" + "444" + "2":
            page.keyboard.press(key)
        page.keyboard.press("Control+Enter")
        expect(page.locator("#wb-status")).to_contain_text(f"Task #{assignment.work_item_id} submitted")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()


def _read_report(page: Page, live_server, project, admin, run) -> None:
    login(page, live_server, admin, f"/projects/{project.pk}/evaluation/runs/{run.pk}/")
    report = page.locator("#report")
    expect(report.locator(".ev-score-value")).to_have_text("70.0%")
    table = report.get_by_role("region", name="Score by track")
    for header in ("Wins", "Ties", "Losses"):
        expect(table.get_by_role("columnheader", name=header)).to_be_visible()
    row = table.get_by_role("row").filter(has_text="helpful")
    expect(row).to_contain_text("7")
    expect(row).to_contain_text("3")
    assert report.locator("figure.qc-figure svg").count() >= 3
    expect(report.get_by_role("heading", name="Style control")).to_be_visible()


def test_the_evaluation_loop_in_the_browser(page: Page, live_server, world, worker, console_problems, screenshot):
    project, admin, labeler = world["project"], world["admin"], world["labeler"]
    run = _create_set_and_run(page, live_server, project, admin)
    wait_for(lambda: EvaluationRun.objects.get(pk=run.pk).status == RunStatus.LABELING, 60, "the answers", worker)
    screenshot("evaluation-run-labeling")

    page.context.clear_cookies()
    _label_by_keyboard(page, live_server, project, labeler, run)
    wait_for(lambda: EvaluationRun.objects.get(pk=run.pk).status == RunStatus.FINISHED, 30, "the finish", worker)
    run.refresh_from_db()
    assert run.report["overall"]["n_pairs"] == N_PROMPTS and run.report["overall"]["score"]["value"] == 0.7

    page.context.clear_cookies()
    _read_report(page, live_server, project, admin, run)
    screenshot("evaluation-report")

    # Triage: the three answers that lost; the admin sends one to be fixed, in place (htmx).
    items = list(TriageItem.objects.filter(run=run).select_related("candidate"))
    assert len(items) == LOSSES and all(i.reasons == ["lost"] for i in items)
    item = items[0]
    page.get_by_role("link", name="Triage").click()
    expect(page).to_have_url(f"{live_server.url}/projects/{project.pk}/evaluation/runs/{run.pk}/triage/")
    card = page.locator(f"#triage-{item.pk}")
    expect(card).to_contain_text(item.candidate.content)
    card.get_by_role("button", name="Fix", exact=True).click()
    expect(page.locator(f"#triage-{item.pk} [data-status='fix']")).to_be_visible()
    item.refresh_from_db()
    assert item.status == "fix" and item.fix_work_item_id is not None
    screenshot("evaluation-triage")

    # The labeler writes the fix, starting from the condemned answer.
    page.context.clear_cookies()
    login(page, live_server, labeler, f"/projects/{project.pk}/label/")
    expect(page.get_by_role("heading", name="Write the ideal answer")).to_be_visible()
    answer = page.get_by_label("Your ideal answer")
    expect(answer).to_have_value(item.candidate.content)
    answer.fill("A better answer, written by hand.")
    answer.focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-status")).to_contain_text(f"Task #{item.fix_work_item_id} submitted")
    label = Label.objects.get(work_item_id=item.fix_work_item_id)
    assert label.source_candidate_id == item.candidate_id

    # The admin's SFT export (the API, with the browser's session) has the fix, naming the run.
    page.context.clear_cookies()
    login(page, live_server, admin, f"/projects/{project.pk}/")
    response = page.request.get(f"{live_server.url}/api/v1/projects/{project.pk}/exports/sft.jsonl?metadata=true")
    assert response.status == 200, response.text()
    rows = [orjson.loads(line) for line in response.body().splitlines() if line.strip()]
    fixes = [r for r in rows if r["metadata"].get("label_id") == label.pk]
    assert len(fixes) == 1, rows
    meta = fixes[0]["metadata"]
    assert meta["evaluation_run"] == run.pk and meta["triage"] == item.pk
    assert "A better answer, written by hand." in orjson.dumps(fixes[0]).decode()
    assert expected_failures(console_problems) == []
