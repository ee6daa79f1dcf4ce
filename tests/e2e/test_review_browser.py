"""The review queue in a real browser, by keyboard only: j / k move between labels, a accepts the
focused one, x opens its reject comment and Ctrl+Enter sends it. Each decision swaps just that card
(htmx) and the page stays where it is: same URL (filters kept), no reload, the next label focused."""

import pytest
from playwright.sync_api import Page, expect

from labelhub.labeling.models import Label, ReviewStatus, WorkItem
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from tests.exports import builders
from tests.workbench_helpers import configure, make_prompt, ready

from .test_workbench_browser import login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def waiting(project, members, staff, publish):
    """Three comparisons on the helpful track and one on harmless, labeled, waiting for review."""
    project = configure(project, demonstrations=False, k=2)
    labeler = members[Role.LABELER]
    for i in range(3):
        make_prompt(project, f"Helpful question {i} <script>alert({i})</script>", [f"Answer A{i}", f"Answer B{i}"])
    make_prompt(project, "A harmless question", ["C", "D"], track="harmless")
    version = ready(project, labeler, publish, staff)
    labels = []
    for item in WorkItem.objects.filter(project=project).order_by("id"):
        first, second = item.candidate_ids
        labels.append(builders.label(item, labeler, version, ranks={first: 1, second: 2}))
    reviewer = members[Role.REVIEWER]
    project_services.guideline_acknowledge(project=project, user=reviewer, number=version.number)
    return {"project": project, "reviewer": reviewer, "labels": labels}


def _focused(page: Page) -> str:
    return page.evaluate("() => document.querySelector('[data-review-card].is-focused')?.id || ''")


def test_accept_and_reject_by_keyboard_stay_in_place(page: Page, live_server, waiting, console_problems, screenshot):
    project = waiting["project"]
    helpful = [label for label in waiting["labels"] if label.work_item.prompt.track == "helpful"]
    target = f"/projects/{project.pk}/label/review/?track=helpful"
    login(page, live_server, waiting["reviewer"], target.replace("?", "%3F").replace("=", "%3D"))
    expect(page).to_have_url(f"{live_server.url}{target}")
    cards = page.locator("[data-review-card]")
    expect(cards).to_have_count(3)
    expect(page.get_by_text("Keyboard:")).to_be_visible()
    page.evaluate("() => { window.__stayed = true; }")  # gone if the page reloads
    keys = []

    def press(key: str) -> None:
        keys.append(key)
        page.keyboard.press(key)

    assert _focused(page) == f"label-{helpful[0].pk}"
    press("j")
    assert _focused(page) == f"label-{helpful[1].pk}"
    press("k")
    assert _focused(page) == f"label-{helpful[0].pk}"

    press("a")  # accept the first: its card turns into its decided state, the next one is focused
    first = page.locator(f"#label-{helpful[0].pk}")
    expect(first).to_have_attribute("data-decided", "")
    expect(first).to_contain_text("Accepted")
    expect(page.locator(f"#label-{helpful[1].pk}")).to_have_class("card review-item is-focused")

    press("x")  # open the second's reject comment
    box = page.locator(f"#reject-{helpful[1].pk}")
    expect(box).to_be_focused()
    page.keyboard.type("Rank 1 invents a date.")
    press("Control+Enter")
    second = page.locator(f"#label-{helpful[1].pk}")
    expect(second).to_contain_text("Rejected")
    expect(second).to_contain_text("Rank 1 invents a date.")
    expect(page.locator(f"#label-{helpful[2].pk}")).to_have_class("card review-item is-focused")

    press("x")
    press("Control+Enter")  # an empty comment: refused in the page, nothing sent
    assert Label.objects.get(pk=helpful[2].pk).review_status == ReviewStatus.PENDING

    screenshot("review-queue-keyboard")
    assert page.evaluate("() => window.__stayed") is True
    assert page.url == f"{live_server.url}{target}"  # the filters stay
    assert Label.objects.get(pk=helpful[0].pk).review_status == ReviewStatus.ACCEPTED
    rejected = Label.objects.get(pk=helpful[1].pk)
    assert (rejected.review_status, rejected.review_comment) == (ReviewStatus.REJECTED, "Rank 1 invents a date.")
    assert keys == ["j", "k", "a", "x", "Control+Enter", "x", "Control+Enter"]
    assert page.evaluate("() => window.__xss") is None
    assert console_problems == []
