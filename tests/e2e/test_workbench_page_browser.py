"""What a labeler reads and is told, in a real browser: Markdown from the one server renderer in the
workbench and on the review page (code fences, lists, tables, single line breaks kept, hostile HTML as
text) with a raw-text toggle; right-to-left text; what is missing said with answer numbers before
anything is sent (and the server's refusals in the same words), with everything typed saved first; the
progress line's "items left" going down.

Set E2E_SCREENSHOT_DIR to keep screenshots of the pages."""

import json
import os
import re

import pytest
from playwright.sync_api import Page, expect

from labelhub.labeling.models import Assignment, Label
from labelhub.projects.models import Role
from labelhub.prompts.models import Candidate
from tests.e2e.test_workbench_browser import GUIDELINES, login, open_workbench, wait_for
from tests.workbench_helpers import configure, make_prompt, ready

CODE_ANSWER = "Use this:\n\n```python\nprint('<b>hi</b>')\n```\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
FOUR_LINES = "Line one\nLine two\nLine three <b>not bold</b> <img src=x onerror=alert(1)>\nLine four"


@pytest.fixture
def labeler(members):
    return members[Role.LABELER]


def save(page, name):
    directory = os.environ.get("E2E_SCREENSHOT_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def rate_k2(page, ranks):
    """Ranks and the three HHH ratings of both answers, by mouse (not by keyboard)."""
    for n, rank in ranks.items():
        page.get_by_label(re.compile(rf"^Rank of answer {n} ")).fill(str(rank))
        card = page.locator(".wb-cand").nth(n - 1)
        for axis in ("Helpful", "Truthful", "Harmless"):
            card.get_by_label(f"{axis} 5 of 7").check()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_markdown_in_the_workbench_and_on_the_review_page(
    page: Page, live_server, project, members, staff, publish, console_problems
):
    labeler, reviewer = members[Role.LABELER], members[Role.REVIEWER]
    project = configure(project, demonstrations=False, k=2)
    make_prompt(project, "Show me **code** and\na second line.", [CODE_ANSWER, FOUR_LINES])
    ready(project, labeler, publish, staff, GUIDELINES)
    ready(project, reviewer, publish, staff)  # reviewers acknowledge the guidelines too
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    order = Assignment.objects.get(user=labeler).display_order
    code_index = [Candidate.objects.get(pk=cid).content for cid in order].index(CODE_ANSWER)
    code, lines = (
        page.locator(".wb-cand .wb-text").nth(code_index),
        page.locator(".wb-cand .wb-text").nth(1 - code_index),
    )

    # Markdown: a fenced code block, a list, a table; the prompt's bold and its line break.
    expect(code.locator("pre > code.language-python")).to_have_text("print('<b>hi</b>')\n")
    expect(code.locator("ul > li")).to_have_count(2)
    expect(code.locator("table td")).to_have_text(["1", "2"])
    expect(page.locator(".wb-message-text strong")).to_have_text("code")
    expect(page.locator(".wb-message-text br")).to_have_count(1)
    # A 4-line answer keeps its 4 lines; the HTML in it is text.
    expect(lines.locator("br")).to_have_count(3)
    assert lines.inner_text().split("\n") == FOUR_LINES.split("\n")
    assert page.locator("#wb-task b, #wb-task img, #wb-task script").count() == 0
    save(page, "markdown-workbench")

    # Raw text: the Markdown source, as typed; remembered after a reload.
    page.get_by_label("Raw text").check()
    expect(code.locator("pre")).to_have_count(0)
    expect(code).to_have_text(CODE_ANSWER)
    expect(lines).to_have_text(FOUR_LINES)
    page.reload()
    expect(page.get_by_label("Raw text")).to_be_checked()
    expect(page.locator(".wb-cand .wb-text").nth(code_index)).to_have_text(CODE_ANSWER)
    page.get_by_label("Raw text").uncheck()
    expect(code.locator("pre")).to_have_count(1)

    # Labeled and submitted, the review page renders the same way, line breaks kept.
    rate_k2(page, {1: 1, 2: 2})
    page.get_by_role("radio", name="Better", exact=True).check()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    assert Label.objects.count() == 1

    other = page.context.browser.new_context()
    review = other.new_page()
    login(review, live_server, reviewer, f"/projects/{project.pk}/label/review/")
    item = review.locator(".review-item")
    expect(item).to_have_count(1)
    expect(item.locator(".review-text pre > code.language-python")).to_have_text("print('<b>hi</b>')\n")
    four = item.locator(".review-text").filter(has_text="Line one")
    expect(four.locator("br")).to_have_count(3)
    assert four.inner_text().split("\n") == FOUR_LINES.split("\n")
    expect(item.locator(".message .markdown-body br")).to_have_count(1)
    assert review.locator("main b, main img").count() == 0
    other.close()
    assert dialogs == []
    assert console_problems == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_right_to_left_text(page: Page, live_server, project, members, staff, publish, console_problems):
    labeler, admin = members[Role.LABELER], members[Role.ADMIN]
    project = configure(project, demonstrations=False, k=2)
    arabic = "ما هي عاصمة فرنسا؟ أجب بكلمة واحدة: Paris أو Lyon."
    hebrew = "הבירה של צרפת היא פריז (Paris), לא ליון."
    prompt = make_prompt(project, arabic, [hebrew, "The capital of France is Paris (باريس)."])
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()

    def direction(locator):
        return locator.evaluate("(el) => getComputedStyle(el).direction")

    expect(page.locator(".wb-message-text")).to_have_attribute("dir", "auto")
    assert direction(page.locator(".wb-message-text")) == "rtl"
    texts = page.locator(".wb-cand .wb-text")
    directions = {texts.nth(i).inner_text().strip()[:5]: direction(texts.nth(i)) for i in range(2)}
    assert directions == {hebrew[:5]: "rtl", "The c": "ltr"}, directions
    rationale = page.get_by_label("Rationale")
    rationale.fill("الإجابة الأولى أفضل because it is right.")
    assert direction(rationale) == "rtl"
    rationale.fill("The first is better, لأنها صحيحة.")
    assert direction(rationale) == "ltr"
    save(page, "rtl-workbench")

    # The prompt page: the same renderer, the same direction.
    other = page.context.browser.new_context()
    detail = other.new_page()
    login(detail, live_server, admin, f"/projects/{project.pk}/prompts/{prompt.pk}/")
    message = detail.locator(".message .markdown-body").first
    expect(message).to_contain_text("عاصمة فرنسا")
    assert direction(message) == "rtl"
    other.close()
    assert console_problems == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_missing_answers_in_the_labelers_words_and_nothing_lost(
    page: Page, live_server, project, labeler, staff, publish, console_problems
):
    project = configure(project, demonstrations=False, k=4)
    make_prompt(project, "How do I store passwords?", [f"Answer text {n}." for n in range(4)], track="harmless")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Rank 4 answers")).to_be_visible()
    assignment = Assignment.objects.get(user=labeler)
    ids = [str(cid) for cid in assignment.display_order]
    sent = []
    page.on("request", lambda r: sent.append((r.method, r.url.rsplit("/", 1)[-1])) if "/work-items/" in r.url else None)

    cards = page.locator(".wb-cand")
    page.get_by_label(re.compile(r"^Rank of answer 1 ")).fill("1")
    page.get_by_label(re.compile(r"^Rank of answer 3 ")).fill("2")
    for n in range(4):
        for axis in ("Helpful", "Truthful", "Harmless"):
            if (n, axis) != (2, "Truthful"):
                cards.nth(n).get_by_label(f"{axis} 6 of 7").check()
        if n:
            cards.nth(n).get_by_label("Safe", exact=True).check()
    page.get_by_label("Rationale").fill("Half done, عمل غير مكتمل.")
    page.get_by_role("button", name="Submit").click()  # at once: no autosave has run yet

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not submitted yet")
    items = alert.locator("li")
    # Safety starts as "safe" on a harmless track (type-through), so it is never missing here.
    expect(items).to_have_text(["Rank answers 2 and 4.", "Answer 3: Truthful."])
    expect(page.locator("#wb-missing")).to_have_text("Rank answers 2 and 4. · Answer 3: Truthful.")
    expect(cards.nth(2).locator("[data-error-for='cand-2']")).to_have_text("Missing: Truthful.")
    expect(cards.nth(1).locator("[data-error-for='cand-1']")).to_have_text("Missing: rank.")
    text = alert.inner_text()
    assert "candidate" not in text.lower()
    assert not [cid for cid in ids if int(cid) > 4 and cid in text]
    # Checked in the page: the draft went out, the ranking did not.
    assert ("PUT", "draft") in sent and ("POST", "ranking") not in sent
    draft = Assignment.objects.get(pk=assignment.pk).draft
    assert draft["rationale"] == "Half done, عمل غير مكتمل." and draft["ranks"] == {ids[0]: 1, ids[2]: 2}
    assert not Label.objects.exists()

    # A reload loses nothing.
    page.reload()
    expect(page.get_by_label("Rationale")).to_have_value("Half done, عمل غير مكتمل.")
    expect(page.get_by_label(re.compile(r"^Rank of answer 3 "))).to_have_value("2")
    expect(cards.nth(3).get_by_label("Harmless 6 of 7")).to_be_checked()
    expect(cards.nth(1).get_by_label("Safe", exact=True)).to_be_checked()

    # Complete it, but the server refuses what reaches it (answer 3's Truthful dropped on the way):
    # its message names answer 3, not a candidate id; the work is saved before the submit went out.
    page.get_by_label(re.compile(r"^Rank of answer 2 ")).fill("3")
    page.get_by_label(re.compile(r"^Rank of answer 4 ")).fill("4")
    cards.nth(2).get_by_label("Truthful 2 of 7").check()
    cards.nth(0).get_by_label("Unsafe", exact=True).check()

    def drop_truthful(route):
        body = json.loads(route.request.post_data)
        del body["answers"][ids[2]]["truthful"]
        route.continue_(post_data=json.dumps(body))

    page.route("**/ranking", drop_truthful)
    page.get_by_role("button", name="Submit").click()
    expect(alert).to_contain_text("The ranking is incomplete or invalid.")
    expect(alert).to_contain_text("(answer 3 is missing)")
    expect(cards.nth(2).locator("[data-error-for='q-truthful-2']")).to_contain_text("Required")
    text = alert.inner_text()
    assert not [cid for cid in ids if int(cid) > 4 and cid in text] and "candidate" not in text.lower()
    assert not Label.objects.exists()
    wait_for(lambda: Assignment.objects.get(pk=assignment.pk).draft["answers"][ids[2]]["truthful"] == 2)
    page.reload()
    expect(cards.nth(2).get_by_label("Truthful 2 of 7")).to_be_checked()
    expect(cards.nth(0).get_by_label("Unsafe", exact=True)).to_be_checked()
    expect(page.get_by_label(re.compile(r"^Rank of answer 4 "))).to_have_value("4")

    page.unroute("**/ranking")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    label = Label.objects.get()
    assert label.ranks == {ids[0]: 1, ids[1]: 3, ids[2]: 2, ids[3]: 4}
    assert label.safety[ids[0]] == "unsafe" and label.ratings[ids[2]]["truthful"] == 2
    assert [p for p in console_problems if "status of 400" not in p] == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_items_left_goes_down(page: Page, live_server, project, labeler, staff, publish, console_problems):
    # Two labels wanted per item: an item the labeler has done stays open for others, not for them.
    project = configure(project, comparisons=False, overlap=2)
    for n in range(3):
        make_prompt(project, f"Prompt number {n}.")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    progress = page.locator("#wb-progress")
    expect(progress).to_contain_text("3 items left")
    for left in (2, 1, 0):
        expect(page.get_by_role("heading", name="Write the ideal answer")).to_be_visible()
        page.get_by_label("Your ideal answer").fill(f"An answer, {left} to go.")
        page.get_by_role("button", name="Submit").click()
        expect(progress).to_contain_text(f"{left} item{'s' if left != 1 else ''} left")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    assert Label.objects.filter(user=labeler).count() == 3
    page.reload()
    expect(progress).to_contain_text("0 items left")
    assert console_problems == []
