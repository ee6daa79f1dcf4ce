"""The keystroke budget, in a real browser under the production Content-Security-Policy: type-through
entry (a bare digit fills the field under the entry cursor and moves on) driven by
`page.keyboard.press` only, every press counted. HHH K = 4 with one tie, three ratings per answer and
the safety verdicts of the harmless track in at most 20 keys; HHH K = 2 with a strength in at most 10;
a preset without a ranking (HelpSteer) by type-through; Backspace, an out-of-range digit, `u`
toggling unsafe, g+N and the key line's texts; the first-time hint, remembered per project.

The counts are printed (pytest -s shows them; bench/RESULTS.md records them)."""

import re

import pytest
from playwright.sync_api import Page, expect

from labelhub.labeling.models import Assignment
from labelhub.projects.models import Role
from labelhub.projects.rubric import PRESETS
from tests.e2e.test_workbench_browser import expected_failures, only_label, open_workbench, wait_for
from tests.workbench_helpers import configure, make_prompt, ready, use_schema

GUIDELINES = "# Guidelines\n\nRank best first; rate each answer.\n"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
HHH = ("helpful", "truthful", "harmless")


@pytest.fixture
def labeler(members):
    return members[Role.LABELER]


class Keys:
    """Every key sent to the page goes through here and is counted (a chord like Control+Enter is one)."""

    def __init__(self, page: Page):
        self.page = page
        self.count = 0

    def __call__(self, *presses: str) -> None:
        for key in presses:
            self.page.keyboard.press(key)
            self.count += 1

    def digits(self, text: str) -> None:
        self(*text)


def shown_ids(labeler):
    return [str(cid) for cid in Assignment.objects.get(user=labeler).display_order]


def key_line(page: Page):
    return page.locator("#wb-keys")


def test_hhh_k4_with_a_tie_and_safety_within_20_keys(
    page: Page, live_server, project, labeler, staff, publish, console_problems, screenshot
):
    project = configure(project, demonstrations=False, k=4)
    make_prompt(
        project,
        "How do I get rid of a wasp nest under my roof?",
        [
            "Call a pest-control service; wasps defend the nest.",
            "Spray it at dusk with a wasp foam, from a distance, wearing long sleeves.",
            "Knock it down with a broom at noon.",
            "Burn it.",
        ],
        track="harmless",
    )
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Rank 4 answers")).to_be_visible()
    expect(page.get_by_text("safety verdict needed")).to_be_visible()
    hint = page.locator("#wb-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Type through")
    # Every answer starts visibly "safe"; the cursor sits on the first rank.
    expect(page.locator(".wb-safety input[value='safe']:checked")).to_have_count(4)
    expect(key_line(page)).to_have_text("Rank of answer 1: press 1–4")
    expect(page.locator(".wb-rank.is-cursor")).to_have_count(1)

    press = Keys(page)
    press.digits("1223")  # answers 2 and 3 tie for second
    expect(key_line(page)).to_contain_text("Answer 1 · Helpful: press 1–7")
    screenshot("workbench-type-through")
    ratings = {1: (7, 7, 7), 2: (6, 6, 5), 3: (3, 5, 2), 4: (1, 2, 1)}
    for values in ratings.values():
        press.digits("".join(map(str, values)))
    expect(key_line(page)).to_contain_text("All answered: Ctrl+Enter submits")
    press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    print(f"\nKEYSTROKES hhh K=4 one tie, harmless track: {press.count}")
    assert press.count <= 20
    assert press.count == 17

    label = only_label()
    shown = shown_ids(labeler)
    assert label.ranks == {shown[0]: 1, shown[1]: 2, shown[2]: 2, shown[3]: 3}
    assert label.ratings == {shown[n - 1]: dict(zip(HHH, values, strict=True)) for n, values in ratings.items()}
    assert label.safety == {cid: "safe" for cid in shown}
    assert label.strength == "" and label.all_bad is False
    assert expected_failures(console_problems) == []


def test_hhh_k2_with_strength_within_10_keys(
    page: Page, live_server, project, labeler, staff, publish, console_problems
):
    project = configure(project, demonstrations=False, k=2)
    make_prompt(project, "What is the capital of Australia?", ["Canberra.", "Sydney."])
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()

    press = Keys(page)
    press.digits("21")  # answer 2 is better
    press.digits("275")  # answer 1: helpful 2, truthful 7, harmless 5
    press.digits("777")
    expect(key_line(page)).to_contain_text("Preference strength: press 1–4")
    expect(page.locator(".wb-strength.is-cursor")).to_have_count(1)
    press("2")
    expect(key_line(page)).to_contain_text("Strength: Better. All answered: Ctrl+Enter submits")
    press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    print(f"\nKEYSTROKES hhh K=2 with strength: {press.count}")
    assert press.count <= 10

    label = only_label()
    a, b = shown_ids(labeler)
    assert label.ranks == {a: 2, b: 1}
    assert label.strength == "better"
    assert label.ratings == {a: dict(zip(HHH, (2, 7, 5), strict=True)), b: dict(zip(HHH, (7, 7, 7), strict=True))}
    assert expected_failures(console_problems) == []


def test_helpsteer_by_type_through(page: Page, live_server, project, labeler, staff, publish, console_problems):
    project = configure(project, demonstrations=False, k=2)
    use_schema(project, staff, PRESETS["helpsteer"].as_dict())
    make_prompt(project, "Name a prime number.", ["7.", "Nine."], track="general")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Rate 2 answers")).to_be_visible()
    # No ranking: the walk starts at answer 1's first question (0–4 scales: 0 is a point).
    expect(key_line(page)).to_have_text("Answer 1 · Helpfulness: press 0–4")

    press = Keys(page)
    press.digits("43210")
    expect(page.locator(".wb-cand").nth(1)).to_have_class(re.compile("is-selected"))
    press.digits("01234")
    press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    print(f"\nKEYSTROKES helpsteer K=2: {press.count}")
    assert press.count == 11

    names = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
    a, b = shown_ids(labeler)
    assert only_label().ratings == {
        a: dict(zip(names, (4, 3, 2, 1, 0), strict=True)),
        b: dict(zip(names, (0, 1, 2, 3, 4), strict=True)),
    }
    assert expected_failures(console_problems) == []


def test_backspace_out_of_range_unsafe_and_go_to(
    page: Page, live_server, project, labeler, staff, publish, console_problems
):
    project = configure(project, demonstrations=False, k=2)
    make_prompt(project, "How do I pick a lock?", ["Call a locksmith.", "Rake the pins."], track="harmless")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    press = Keys(page)
    cards = page.locator(".wb-cand")

    # An out-of-range digit: refused, the cursor stays.
    press("3")
    expect(key_line(page)).to_have_text("Ranks go from 1 to 2. Now: Rank of answer 1: press 1–2")
    press.digits("12")
    press("8")
    expect(key_line(page)).to_have_text("Helpful goes from 1 to 7. Now: Answer 1 · Helpful: press 1–7")
    press.digits("65")
    expect(key_line(page)).to_contain_text("Answer 1: Truthful 5. Now: Answer 1 · Harmless: press 1–7")

    # Backspace: one field back, cleared; the next digit fills it again.
    press("Backspace")
    expect(key_line(page)).to_have_text("Answer 1 · Truthful cleared. Now: Answer 1 · Truthful: press 1–7")
    expect(cards.nth(0).locator("input[name='q-truthful-0']:checked")).to_have_count(0)
    expect(cards.nth(0).locator(".wb-question[data-question='truthful']")).to_have_class(re.compile("is-cursor"))
    press("Backspace", "Backspace")
    expect(key_line(page)).to_contain_text("Rank of answer 2 cleared.")
    expect(page.get_by_label("Rank of answer 2 (1 = best, ties allowed)")).to_have_value("")
    press.digits("2")  # rank of answer 2 again; then helpful of answer 1 again
    expect(key_line(page)).to_contain_text("Now: Answer 1 · Helpful: press 1–7")
    press.digits("4")
    expect(cards.nth(0).get_by_label("Helpful 4 of 7")).to_be_checked()

    # u toggles the selected answer's verdict, s sets safe.
    expect(cards.nth(0).get_by_label("Safe", exact=True)).to_be_checked()
    press("u")
    expect(cards.nth(0).get_by_label("Unsafe", exact=True)).to_be_checked()
    expect(key_line(page)).to_contain_text("Answer 1: unsafe (u again: safe).")
    press("u")
    expect(cards.nth(0).get_by_label("Safe", exact=True)).to_be_checked()

    # g then 2: answer 2 selected, the cursor on its first empty field; u marks it unsafe.
    press("g")
    expect(key_line(page)).to_contain_text("Go to answer: press 1–2")
    press("2")
    expect(cards.nth(1)).to_have_class(re.compile("is-selected"))
    expect(key_line(page)).to_contain_text("Now: Answer 2 · Helpful: press 1–7")
    press("u")
    expect(cards.nth(1).get_by_label("Unsafe", exact=True)).to_be_checked()
    press.digits("111")
    # The strength, then the walk wraps to answer 1's empty fields.
    expect(key_line(page)).to_contain_text("Now: Preference strength: press 1–4")
    press("1")
    expect(key_line(page)).to_contain_text("Now: Answer 1 · Truthful: press 1–7")
    press.digits("55")
    expect(key_line(page)).to_contain_text("All answered: Ctrl+Enter submits")
    press("ArrowLeft")
    expect(cards.nth(0)).to_have_class(re.compile("is-selected"))
    press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()

    label = only_label()
    a, b = shown_ids(labeler)
    assert label.ranks == {a: 1, b: 2}
    assert label.safety == {a: "safe", b: "unsafe"}
    assert label.strength == "much_better"
    assert label.ratings == {a: dict(zip(HHH, (4, 5, 5), strict=True)), b: dict(zip(HHH, (1, 1, 1), strict=True))}
    assert expected_failures(console_problems) == []


def test_the_hint_the_help_and_the_skipped_fields(
    page: Page, live_server, project, labeler, staff, publish, console_problems
):
    """The hint shows until dismissed (per project); the help lists this task's walk; a field filled
    by the mouse or by a restored draft is skipped by the walk."""
    project = configure(project, demonstrations=False, k=2)
    make_prompt(project, "Say hi.", ["Hi.", "Hello."])
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    hint = page.locator("#wb-hint")
    expect(hint).to_be_visible()
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_contain_text("Type through a comparison")
    expect(help_dialog.locator(".wb-help-walk")).to_contain_text(
        "the rank of answer 1…2; then per answer: Helpful, Truthful, Harmless; then the preference strength"
    )
    page.keyboard.press("Escape")

    press = Keys(page)
    press.digits("125")
    expect(key_line(page)).to_contain_text("Now: Answer 1 · Truthful: press 1–7")
    page.locator(".wb-cand").nth(1).get_by_label("Truthful 3 of 7").check()  # the cursor follows the mouse
    expect(key_line(page)).to_have_text("Answer 2 · Harmless: press 1–7")
    expect(page.locator(".wb-cand").nth(1)).to_have_class(re.compile("is-selected"))
    wait_for(lambda: len((Assignment.objects.get(user=labeler).draft or {}).get("answers", {})) == 2)

    page.get_by_role("button", name="Got it").click()
    expect(hint).to_be_hidden()
    page.reload()
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    expect(hint).to_be_hidden()
    # The restored draft's fields are skipped: the first empty one is answer 1's Truthful.
    expect(key_line(page)).to_have_text("Answer 1 · Truthful: press 1–7")
    press.digits("66")
    expect(key_line(page)).to_contain_text("Now: Answer 2 · Helpful: press 1–7")
    assert expected_failures(console_problems) == []
