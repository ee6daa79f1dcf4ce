"""Choosing work and fixing a rejected label, in a real browser: the labeler chooses comparisons only
and is served one, labels it, finds it in My labels; a reviewer rejects it; the labeler reopens it
(pre-filled, the reviewer's comment shown), fixes it and resubmits."""

import pytest
from playwright.sync_api import Page, expect

from labelhub.labeling import services as labeling_services
from labelhub.labeling.models import Assignment, Label, ReviewStatus, WorkPreference
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from tests.e2e.test_workbench_browser import expected_failures, login
from tests.workbench_helpers import configure, demonstrations_first, make_prompt, ready


def _rate(page: Page, ranks: dict[int, int]) -> None:
    """Ranks by answer position (0-based) and the three HHH ratings of every answer, by their labels."""
    for position, rank in ranks.items():
        page.get_by_label(f"Rank of answer {position + 1} (1 = best, ties allowed)").fill(str(rank))
        card = page.locator(".wb-cand").nth(position)
        for axis in ("Helpful", "Truthful", "Harmless"):
            card.get_by_label(f"{axis} {6 - rank} of 7").check()
    page.get_by_role("radio", name="Better", exact=True).check()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_choose_comparisons_then_fix_a_rejected_label(
    page: Page, live_server, project, members, staff, publish, console_problems, monkeypatch, screenshot
):
    project = configure(project, k=2)
    make_prompt(project, "Write a haiku about autumn.")  # a demonstration only (no candidates)
    make_prompt(project, "Name a prime number.", ["Seven.", "Nine."])  # a demonstration and a comparison
    labeler, reviewer = members[Role.LABELER], members[Role.REVIEWER]
    version = ready(project, labeler, publish, staff)
    project_services.guideline_acknowledge(project=project, user=reviewer, number=version.number)
    project.gold_rate = 0
    project.save()
    demonstrations_first(monkeypatch)  # "anything" picks the first kind at random per claim

    workbench = f"/projects/{project.pk}/label/"
    login(page, live_server, labeler, workbench)
    expect(page.get_by_role("heading", name="Write the ideal answer")).to_be_visible()

    # Choose comparisons only: the choice sticks (stored server-side) and shows in the bar.
    page.get_by_label("Work", exact=True).select_option("comparison")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_label("Work", exact=True)).to_have_value("comparison")
    assert WorkPreference.objects.get(user=labeler).kind == "comparison"
    # The demonstration already held stays theirs until they skip it; then a comparison is served.
    expect(page.get_by_role("heading", name="Write the ideal answer")).to_be_visible()
    page.get_by_role("button", name="Skip").click()
    page.get_by_label("Why do you skip it?").fill("Comparisons only today.")
    page.get_by_role("button", name="Skip task").click()
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    assignment = Assignment.objects.get(user=labeler, work_item__kind="comparison")
    shown = [str(c) for c in assignment.display_order]
    _rate(page, {0: 1, 1: 2})
    page.get_by_role("button", name="Submit").click()
    # Nothing more of the chosen kind: said so, with the way out.
    expect(page.get_by_text("No comparisons left for you; switch to anything?")).to_be_visible()
    expect(page.get_by_role("button", name="Switch to anything")).to_be_visible()
    screenshot("workbench-choice-empty")
    first = Label.objects.get(user=labeler)
    assert first.kind == "comparison" and first.ranks == {shown[0]: 1, shown[1]: 2}

    # My labels: pending. A reviewer rejects it with a comment.
    page.get_by_role("link", name="My labels").first.click()
    row = page.locator(f"#my-label-{first.pk}")
    expect(row).to_contain_text("Name a prime number.")
    expect(row).to_contain_text("Pending")
    labeling_services.label_review(
        label_id=first.pk, reviewer=reviewer, accept=False, comment="Nine is not prime: rank Seven first only if…"
    )
    page.reload()
    expect(row).to_contain_text("Rejected")
    expect(row).to_contain_text("Nine is not prime")
    screenshot("my-labels-rejected")

    # Fix and resubmit: the task opens pre-filled with the reviewer's comment.
    row.get_by_role("button", name="Fix and resubmit").click()
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    expect(page.locator(".wb-review-note")).to_contain_text("Nine is not prime")
    expect(page.get_by_label("Rank of answer 1 (1 = best, ties allowed)")).to_have_value("1")
    expect(page).to_have_url(f"{live_server.url}{workbench}")  # ?item= dropped: a reload is the queue
    screenshot("workbench-fixing-rejected")
    seven = shown.index(str(min(int(c) for c in shown)))
    _rate(page, {seven: 1, 1 - seven: 2})
    page.get_by_label("Rationale").fill("Seven is prime; nine is three squared.")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("No comparisons left for you; switch to anything?")).to_be_visible()

    fixed = Label.objects.filter(user=labeler).order_by("-id").first()
    assert fixed.pk != first.pk and fixed.supersedes_id == first.pk
    assert fixed.review_status == ReviewStatus.PENDING and fixed.ranks[shown[seven]] == 1
    first.refresh_from_db()
    assert first.review_status == ReviewStatus.REJECTED
    page.get_by_role("link", name="My labels").first.click()
    expect(page.locator(f"#my-label-{fixed.pk}")).to_contain_text(f"fixes #{first.pk}")
    expect(page.locator(f"#my-label-{first.pk}")).not_to_contain_text("Fix and resubmit")

    # Switch to anything: the demonstration of the first prompt is served.
    page.goto(f"{live_server.url}{workbench}")
    page.get_by_role("button", name="Switch to anything").click()
    expect(page.get_by_role("heading", name="Write the ideal answer")).to_be_visible()
    expect(page.get_by_label("Work", exact=True)).to_have_value("")
    assert console_problems == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_back_to_my_previous_task_amends_it_then_resumes_a_skip(
    page: Page, live_server, project, members, staff, publish, console_problems
):
    project = configure(project, demonstrations=False, k=2)
    for n in (1, 2):
        make_prompt(project, f"Question {n}: name a prime number.", ["Seven.", "Nine."])
    labeler = members[Role.LABELER]
    ready(project, labeler, publish, staff)
    project.gold_rate = 0
    project.save()
    workbench = f"/projects/{project.pk}/label/"
    login(page, live_server, labeler, workbench)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    back = page.get_by_role("button", name="Back to my previous task")
    expect(back).to_be_hidden()
    first = Assignment.objects.get(user=labeler)
    _rate(page, {0: 1, 1: 2})
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#wb-status")).to_contain_text(f"Task #{first.work_item_id} submitted.")
    expect(back).to_be_visible()

    # The [ key: the task just submitted comes back with its answers, and submitting replaces the label.
    page.keyboard.press("[")
    expect(page.locator("#wb-status")).to_contain_text(f"Amending task #{first.work_item_id}")
    expect(page.get_by_label("Rank of answer 1 (1 = best, ties allowed)")).to_have_value("1")
    _rate(page, {0: 2, 1: 1})
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#wb-status")).to_contain_text(f"Task #{first.work_item_id} submitted.")
    label = Label.objects.get(user=labeler)
    shown = [str(c) for c in first.display_order]
    assert label.ranks == {shown[0]: 2, shown[1]: 1}  # the same label, amended

    # Skip the second task, then the button takes it back.
    second = Assignment.objects.filter(user=labeler).exclude(pk=first.pk).get()
    page.get_by_role("button", name="Skip").click()
    page.get_by_label("Why do you skip it?").fill("Later.")
    page.get_by_role("button", name="Skip task").click()
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    back.click()
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    expect(page.locator(".wb-task-meta")).to_contain_text(f"Task #{second.work_item_id}")
    second.refresh_from_db()
    assert second.status == "active"
    assert expected_failures(console_problems, 409) == []
