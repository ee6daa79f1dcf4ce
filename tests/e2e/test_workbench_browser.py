"""The labeler's workbench in a real browser, under the production Content-Security-Policy:
demonstrations (from scratch and fixing a candidate), comparisons (K = 4 by keyboard only, K = 2
with a preference strength), untrusted text rendered inert, and a stale submit that keeps the text.

Set E2E_SCREENSHOT_DIR to keep screenshots of the pages."""

import os
import re
import time
from urllib.parse import urlsplit

import pytest
from django.db.models import F
from playwright.sync_api import Page, expect

from labelhub.labeling.models import Assignment, AssignmentStatus, Label, WorkItem
from labelhub.projects.models import Role
from tests.workbench_helpers import configure, demonstrations_first, make_prompt, ready

PASSWORD = "correct horse battery staple"  # tests/factories.py
XSS = (
    '<img src=x onerror=alert(1)> <script>alert(2)</script> "><svg onload=alert(3)> '
    "[x](javascript:alert(4)) ![](http://127.0.0.1:9/leak?x=1)"
)
GUIDELINES = """# Labeling guidelines

Write the answer a careful expert would give.

## Comparisons

Rank the answers from best (1) to worst; give two answers the same rank when you cannot tell them apart.
"""


def expected_failures(problems, *statuses):
    """Console problems, minus Chromium's log line for the HTTP errors the test provokes on purpose."""
    pattern = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")
    return [p for p in problems if not ((m := pattern.search(p)) and int(m.group(1)) in statuses)]


def login(page: Page, live_server, user, next_url="/"):
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def open_workbench(page: Page, live_server, project, user):
    target = f"/projects/{project.pk}/label/"
    login(page, live_server, user, target)
    expect(page).to_have_url(f"{live_server.url}{target}")


def wait_for(condition, timeout=10.0):
    """Poll the database until `condition()` holds (autosave is debounced, then asynchronous)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def only_label():
    labels = list(Label.objects.all())
    assert len(labels) == 1, labels
    return labels[0]


@pytest.fixture
def shot(page, screenshot):
    """A full-page screenshot taken from the top (the guidelines panel is sticky)."""

    def take(name):
        page.mouse.wheel(0, -100_000)
        page.wait_for_timeout(100)
        screenshot(name)

    return take


@pytest.fixture
def labeler(members):
    return members[Role.LABELER]


# (a) ----------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_demonstration_from_scratch(page: Page, live_server, project, labeler, staff, publish, console_problems, shot):
    project = configure(project, comparisons=False)
    make_prompt(project, "Explain what DNS does, in two sentences.", system="You are a patient teacher.")
    ready(project, labeler, publish, staff, GUIDELINES)

    open_workbench(page, live_server, project, labeler)
    csp = page.request.get(f"{live_server.url}/projects/{project.pk}/label/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp

    expect(page.get_by_role("heading", name="Write the ideal answer")).to_be_visible()
    expect(page.get_by_role("heading", name="Comparisons")).to_be_visible()  # the guidelines panel
    expect(page.get_by_text("Explain what DNS does, in two sentences.")).to_be_visible()
    expect(page.get_by_text("You are a patient teacher.")).to_be_visible()
    expect(page.locator("#wb-progress")).to_contain_text("0 labels by you")
    expect(page.locator("#wb-progress")).to_contain_text("1 item left")

    # Keyboard: e focuses the answer box; typing autosaves a draft about a second later.
    page.keyboard.press("e")
    expect(page.get_by_label("Your ideal answer")).to_be_focused()
    answer = (
        "DNS turns names like example.org into IP addresses.\nYour computer asks a resolver, which asks the servers."
    )
    page.keyboard.type(answer)
    expect(page.locator("#wb-status")).to_contain_text("Draft saved")
    assignment = Assignment.objects.get(user=labeler)
    assert assignment.draft == {"kind": "demonstration", "content": answer, "source_candidate": None}
    shot("workbench-demonstration")

    # A reload restores the draft (same task: the lease is still ours).
    page.reload()
    expect(page.get_by_label("Your ideal answer")).to_have_value(answer)
    expect(page.locator("#wb-status")).to_contain_text("Draft restored")

    page.get_by_label("Your ideal answer").focus()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    expect(page.locator("#wb-status")).to_contain_text(f"Task #{assignment.work_item_id} submitted")
    expect(page.locator("#wb-progress")).to_contain_text("1 label by you")
    expect(page.locator("#wb-progress")).to_contain_text("0 items left")
    label = only_label()
    assert (label.kind, label.content, label.source_candidate_id, label.diff) == ("demonstration", answer, None, "")
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.SUBMITTED
    assert expected_failures(console_problems) == []


# (b) ----------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_fix_a_candidate(page: Page, live_server, project, labeler, staff, publish, console_problems, shot):
    project = configure(project, comparisons=False)
    prompt = make_prompt(
        project,
        "When did the Berlin Wall fall?",
        ["The Berlin Wall fell in 1991.", "It fell on 9 November 1989, when the border crossings opened."],
    )
    ready(project, labeler, publish, staff, GUIDELINES)
    first, second = prompt.candidates.order_by("id")
    open_workbench(page, live_server, project, labeler)

    expect(page.get_by_role("heading", name="Model answers")).to_be_visible()
    expect(page.get_by_text("The Berlin Wall fell in 1991.")).to_be_visible()
    shot("workbench-demonstration-candidates")
    # Start from answer 1, think better of it, start from answer 2 and fix it.
    page.get_by_role("button", name="Start from this answer").first.click()
    expect(page.get_by_label("Your ideal answer")).to_have_value(first.content)
    page.get_by_role("button", name="Start from this answer").nth(1).click()
    box = page.get_by_label("Your ideal answer")
    expect(box).to_have_value(second.content)
    expect(page.locator("#wb-source-note")).to_contain_text("Started from answer 2")
    expect(box).to_be_focused()
    page.keyboard.press("Control+End")
    page.keyboard.type(" East Germans crossed freely that night.")
    fixed = second.content + " East Germans crossed freely that night."
    expect(page.locator("#wb-status")).to_contain_text("Draft saved")
    assert Assignment.objects.get(user=labeler).draft["source_candidate"] == second.pk

    submit = page.get_by_role("button", name="Submit")
    submit.dblclick()  # double-click safe: one label
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    label = only_label()
    assert label.content == fixed
    assert label.source_candidate_id == second.pk
    assert label.original_content == second.content
    assert "-It fell on 9 November 1989, when the border crossings opened." in label.diff
    assert "+" + fixed in label.diff
    assert expected_failures(console_problems) == []


# (c) ----------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_k4_ranking_with_a_tie_by_keyboard_only(
    page: Page, live_server, project, labeler, staff, publish, console_problems, shot
):
    project = configure(project, demonstrations=False, k=4)
    make_prompt(
        project,
        "Suggest a name for a bakery.",
        [
            "Crumb & Co. — short, warm and easy to remember.",
            "The Rising Loaf: a pun on dough rising.",
            "Bakery.",
            "Call it Bread Shop 3000, the best bakery in the world since 1850.",
        ],
    )
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Rank 4 answers")).to_be_visible()

    # ? opens the shortcut help, Esc closes it.
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Rank of the selected answer")
    shot("workbench-shortcuts")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # Answers as shown: 1 and 2 tie for first, 3 is second, 4 is third. g+N goes to answer N (random
    # access; tests/e2e/test_workbench_keystrokes_browser.py types through); r+digit for ranks, and
    # Shift+digit once; h/t/a + digit for the three ratings; f+digit for a flag.
    plan = {1: (1, 6, 7, 7), 2: (1, 6, 6, 7), 3: (2, 2, 7, 7), 4: (3, 3, 1, 6)}
    for n, (rank, helpful, truthful, harmless) in plan.items():
        page.keyboard.press("g")
        page.keyboard.press(str(n))
        expect(page.locator(f".wb-cand[data-index='{n - 1}']")).to_have_class(re.compile("is-selected"))
        if n == 3:
            page.keyboard.press(f"Shift+Digit{rank}")
        else:
            page.keyboard.press("r")
            expect(page.locator("#wb-keys")).to_contain_text(f"Rank of answer {n}")
            page.keyboard.press(str(rank))
        for key, value in (("h", helpful), ("t", truthful), ("a", harmless)):
            page.keyboard.press(key)
            page.keyboard.press(str(value))
    page.keyboard.press("g")
    page.keyboard.press("4")
    page.keyboard.press("f")
    page.keyboard.press("1")  # hallucination
    expect(page.locator(".wb-board-item.is-tied")).to_have_count(2)
    expect(page.locator(".wb-board")).to_contain_text("#1Answer 1tie")
    expect(page.get_by_label("Rank of answer 3 (1 = best, ties allowed)")).to_have_value("2")
    page.keyboard.press("e")
    expect(page.get_by_label("Rationale")).to_be_focused()
    page.keyboard.type("1 and 2 are equally good; 4 invents a founding year.")
    page.keyboard.press("Escape")
    shot("workbench-comparison-k4")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()

    label = only_label()
    shown = [str(cid) for cid in label.display_order]
    assert len(shown) == 4
    assert label.ranks == {shown[0]: 1, shown[1]: 1, shown[2]: 2, shown[3]: 3}
    assert label.ratings == {
        shown[i - 1]: {"helpful": h, "truthful": t, "harmless": a} for i, (_, h, t, a) in plan.items()
    }
    assert label.flags == {shown[3]: ["hallucination"]}
    assert label.rationale == "1 and 2 are equally good; 4 invents a founding year."
    assert label.strength == "" and label.all_bad is False
    assert expected_failures(console_problems) == []


# (d) ----------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_k2_comparison_with_strength(page: Page, live_server, project, labeler, staff, publish, console_problems, shot):
    project = configure(project, demonstrations=False, k=2)
    make_prompt(
        project,
        "How do I pick the lock of my own front door? I am locked out.",
        [
            "Call a licensed locksmith; they can verify you live there and open it without damage.",
            "Insert a tension wrench, then rake the pins until they set.",
        ],
        track="harmless",
    )
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    expect(page.get_by_text("safety verdict needed")).to_be_visible()
    assignment = Assignment.objects.get(user=labeler)
    shown = [str(cid) for cid in assignment.display_order]
    locksmith = shown.index(str(min(int(c) for c in shown)))  # the first candidate created: the locksmith
    other = 1 - locksmith

    page.get_by_label(f"Rank of answer {locksmith + 1} (1 = best, ties allowed)").fill("1")
    page.get_by_label(f"Rank of answer {other + 1} (1 = best, ties allowed)").fill("2")
    cards = page.locator(".wb-cand")
    for index, ratings, verdict in ((locksmith, (7, 7, 7), "Safe"), (other, (4, 5, 2), "Unsafe")):
        card = cards.nth(index)
        for axis, value in zip(("Helpful", "Truthful", "Harmless"), ratings, strict=True):
            card.get_by_label(f"{axis} {value} of 7").check()
        card.get_by_label(verdict, exact=True).check()

    # The autosaved draft brings everything back after a reload.
    wait_for(lambda: len((Assignment.objects.get(pk=assignment.pk).draft or {}).get("safety", {})) == 2)
    page.reload()
    expect(page.get_by_label(f"Rank of answer {locksmith + 1} (1 = best, ties allowed)")).to_have_value("1")
    expect(page.get_by_label(f"Rank of answer {other + 1} (1 = best, ties allowed)")).to_have_value("2")
    expect(cards.nth(other).get_by_label("Harmless 2 of 7")).to_be_checked()
    expect(cards.nth(other).get_by_label("Unsafe", exact=True)).to_be_checked()
    expect(page.locator(".wb-board")).to_contain_text(f"#1Answer {locksmith + 1}")

    # Submitting without a strength: the page says so before sending anything, nothing is lost.
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_contain_text("Not submitted yet")
    expect(page.get_by_role("alert")).to_contain_text("Say how much better the preferred answer is.")
    expect(page.locator("[data-error-for='strength']")).to_be_visible()
    assert not Label.objects.exists()

    page.get_by_role("radio", name="Better", exact=True).check()
    page.get_by_label("Rationale").fill("The second answer helps break in; the first is safe and useful.")
    shot("workbench-comparison-k2")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()

    label = only_label()
    assert label.ranks == {shown[locksmith]: 1, shown[other]: 2}
    assert label.strength == "better"
    assert label.safety == {shown[locksmith]: "safe", shown[other]: "unsafe"}
    assert label.ratings[shown[other]] == {"helpful": 4, "truthful": 5, "harmless": 2}
    assert expected_failures(console_problems, 400) == []


# (e) ----------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_untrusted_text_is_inert(
    page: Page, live_server, project, members, staff, publish, console_problems, monkeypatch
):
    labeler, reviewer = members[Role.LABELER], members[Role.REVIEWER]
    demonstrations_first(monkeypatch)
    project = configure(project, k=2)
    make_prompt(project, "Summarise this: " + XSS, ["First: " + XSS, "Second: " + XSS], system=XSS)
    ready(project, labeler, publish, staff, "# Guidelines\n\n" + XSS.replace(" ", "\n\n"))

    dialogs, leaks = [], []

    def watch(p: Page):
        p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        p.on("request", lambda r: leaks.append(r.url) if urlsplit(r.url).port == 9 else None)

    watch(page)
    open_workbench(page, live_server, project, labeler)
    # The demonstration comes first: prompt, system message and candidates are shown as text.
    expect(page.get_by_role("heading", name="Write the ideal answer")).to_be_visible()
    task = page.locator("#wb-task")
    # Rendered as Markdown (the image becomes its URL as text), the tags stay text; raw text is exact.
    shown_as_text = re.compile(re.escape("Summarise this: <img src=x onerror=alert(1)> <script>alert(2)</script>"))
    expect(task.get_by_text(shown_as_text)).to_be_visible()
    expect(task.get_by_text("[image: — http://127.0.0.1:9/leak?x=1]").first).to_be_visible()
    assert page.locator("#wb-task a").count() == 0
    page.get_by_label("Raw text").check()
    expect(task.get_by_text("Summarise this: " + XSS)).to_be_visible()
    expect(task.get_by_text("First: " + XSS)).to_be_visible()
    page.get_by_label("Raw text").uncheck()
    expect(page.locator(".wb-guidelines")).to_contain_text("<script>alert(2)</script>")
    assert page.locator("main img, main svg, main script:not([src]):not([type='application/json'])").count() == 0
    assert page.locator(".wb-guidelines a[href^='javascript']").count() == 0
    page.get_by_role("button", name="Start from this answer").first.click()
    page.get_by_role("button", name="Submit").click()

    # Then the comparison of the same prompt.
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    expect(task.get_by_text(re.compile(re.escape("Second: <img src=x onerror=alert(1)> <script>")))).to_be_visible()
    assert page.locator("main img, main svg").count() == 0
    for key in ("g", "1", "r", "1", "g", "2", "r", "1"):  # a tie: no strength needed
        page.keyboard.press(key)
    for n in ("1", "2"):
        page.keyboard.press("g")
        page.keyboard.press(n)
        for key in "hta":
            page.keyboard.press(key)
            page.keyboard.press("4")
    page.get_by_label("Rationale").fill(XSS)
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    assert Label.objects.count() == 2

    # A reviewer sees both labels, rendered through the Markdown sanitizer.
    ready(project, reviewer, publish, staff)  # reviewers acknowledge the guidelines too
    other = page.context.browser.new_context(base_url=live_server.url)
    review = other.new_page()
    watch(review)
    review_problems = []
    review.on("console", lambda m: review_problems.append(m.text) if m.type in ("error", "warning") else None)
    login(review, live_server, reviewer, f"/projects/{project.pk}/label/review/")
    expect(review.get_by_role("heading", name=re.compile("Labels waiting for review"))).to_be_visible()
    expect(review.locator(".review-item")).to_have_count(2)
    expect(review.locator(".review-rationale").first).to_contain_text("<script>alert(2)</script>")
    assert review.locator("main img, main svg").count() == 0
    assert review.locator("main a[href^='javascript']").count() == 0
    review.wait_for_load_state("networkidle")
    if os.environ.get("E2E_SCREENSHOT_DIR"):
        review.screenshot(path=os.path.join(os.environ["E2E_SCREENSHOT_DIR"], "review-queue.png"), full_page=True)
    other.close()

    page.wait_for_load_state("networkidle")
    assert dialogs == []
    assert leaks == []
    assert review_problems == []
    assert expected_failures(console_problems) == []


# (f) ----------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_stale_submit_keeps_the_text(page: Page, live_server, project, labeler, staff, publish, console_problems, shot):
    project = configure(project, comparisons=False)
    make_prompt(project, "Write a limerick about a cat.")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Write the ideal answer")).to_be_visible()

    text = "There once was a cat named Lou,\nwho napped in a size-seven shoe."
    page.get_by_label("Your ideal answer").fill(text)
    expect(page.locator("#wb-status")).to_contain_text("Draft saved")

    # Meanwhile the lease ran out and the slot went to someone else.
    assignment = Assignment.objects.get(user=labeler)
    Assignment.objects.filter(pk=assignment.pk).update(status=AssignmentStatus.EXPIRED)
    WorkItem.objects.filter(pk=assignment.work_item_id).update(taken=F("overlap"))

    page.get_by_role("button", name="Submit").click()
    alert = page.locator("#wb-alert")
    expect(alert).to_contain_text("Your time on this task ran out and it went to someone else.")
    expect(alert).to_contain_text("Not saved")
    box = page.get_by_label("Your ideal answer")
    expect(box).to_have_value(text)
    expect(box).to_have_attribute("readonly", "")
    expect(page.get_by_role("button", name="Copy your text")).to_be_visible()
    expect(page.get_by_role("button", name="Submit")).to_be_disabled()
    shot("workbench-stale")
    assert not Label.objects.exists()

    # No autosave after the failed submit: typing is impossible and nothing more is sent.
    drafts = []
    page.on("request", lambda r: drafts.append(r.url) if r.url.endswith("/draft") else None)
    page.wait_for_timeout(1500)
    assert drafts == []

    page.get_by_role("button", name="Get the next task").click()
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    assert expected_failures(console_problems, 409) == []


# Skip ---------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_skip_with_a_reason_by_keyboard(page: Page, live_server, project, labeler, staff, publish, console_problems):
    project = configure(project, comparisons=False)
    make_prompt(project, "Translate this Akkadian tablet.")
    make_prompt(project, "Say hello.")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_text("Translate this Akkadian tablet.")).to_be_visible()
    first = Assignment.objects.get(user=labeler)

    page.keyboard.press("k")
    dialog = page.get_by_role("dialog", name="Skip this task")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Why do you skip it?")).to_be_focused()
    page.keyboard.press("Enter")  # no reason: refused on the spot
    expect(dialog.locator("#wb-skip-error")).to_contain_text("Say why you skip")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")  # "Lacks my expertise"
    page.keyboard.press("Enter")
    expect(dialog.get_by_label("Why do you skip it?")).to_have_value("I lack the expertise for this prompt.")
    page.keyboard.press("Control+Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Say hello.")).to_be_visible()
    expect(page.locator("#wb-status")).to_contain_text(f"Task #{first.work_item_id} skipped")
    first.refresh_from_db()
    assert (first.status, first.skip_reason) == (AssignmentStatus.SKIPPED, "I lack the expertise for this prompt.")

    # Esc closes the dialog without skipping.
    page.keyboard.press("k")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert Assignment.objects.filter(user=labeler, status=AssignmentStatus.ACTIVE).count() == 1
    assert expected_failures(console_problems) == []


# The guidelines gate ------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_gate_then_workbench(page: Page, live_server, project, labeler, staff, publish, console_problems, shot):
    project = configure(project, comparisons=False)
    make_prompt(project, "Name three primary colours.")
    ready(project, labeler, publish, staff, GUIDELINES)  # v1, acknowledged
    publish(project, staff, GUIDELINES + "\n## Dates\n\nNever invent a date.\n", note="Dates")
    open_workbench(page, live_server, project, labeler)

    expect(page.get_by_role("heading", name="Read the guidelines before you label")).to_be_visible()
    # What changed, rendered (core.blockdiff): the new heading and rule marked inserted, no "+##" lines.
    expect(page.locator("ins.bd-ins h2", has_text="Dates")).to_be_visible()
    expect(page.locator("ins.bd-ins", has_text="Never invent a date.")).to_be_visible()
    expect(page.get_by_text("+## Dates")).to_have_count(0)
    expect(page.locator("#wb-task")).to_have_count(0)
    shot("workbench-gate")
    page.get_by_role("button", name="I have read version 2").click()
    expect(page.get_by_role("status").filter(has_text="You acknowledged version 2")).to_be_visible()
    expect(page.get_by_text("Name three primary colours.")).to_be_visible()
    expect(page.get_by_role("heading", name="Dates")).to_be_visible()  # in the guidelines panel

    # The panel folds away (and stays folded on the next visit); the task area takes the room.
    page.locator("#wb-guidelines > summary").click()
    expect(page.locator(".workbench")).to_have_class(re.compile("is-guidelines-closed"))
    page.reload()
    expect(page.get_by_text("Name three primary colours.")).to_be_visible()
    expect(page.locator("#wb-guidelines")).not_to_have_attribute("open", "")
    assert expected_failures(console_problems) == []
