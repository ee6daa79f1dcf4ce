"""The workbench renders the labeling schema a task was claimed under, in a real browser under the
production Content-Security-Policy: every question type (scale, binary, choice, multi, text) by
keyboard and by mouse, per-track questions, the presets without a ranking (HelpSteer), with plain
scales (UltraFeedback) and with a safety track (Llama 2), the server's 400 shown beside the question
it names, and a schema full of hostile text rendered inert (workbench, shortcut help, review page)."""

import copy
import mimetypes
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from labelhub.labeling.models import Assignment, Label
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from labelhub.projects.rubric import PRESETS, schema_of
from tests.e2e.test_workbench_browser import expected_failures, login, only_label, open_workbench, wait_for
from tests.security.xss_corpus import DOM_SCAN_JS, fit, shorts
from tests.workbench_helpers import CUSTOM_SCHEMA, configure, make_prompt, ready, use_schema

GUIDELINES = "# Guidelines\n\nJudge each answer on the questions asked.\n"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def labeler(members):
    return members[Role.LABELER]


def comparison_project(project, staff, schema, *, k=2):
    project = configure(project, demonstrations=False, k=k)
    use_schema(project, staff, schema)
    return project


def shown_ids(labeler):
    return [str(cid) for cid in Assignment.objects.get(user=labeler).display_order]


def keys(page: Page, *presses):
    for key in presses:
        page.keyboard.press(key)


# Every question type -----------------------------------------------------------------------------


def test_every_question_type_by_keyboard_and_mouse(
    page: Page, live_server, project, labeler, staff, publish, console_problems, screenshot
):
    project = comparison_project(project, staff, CUSTOM_SCHEMA)
    make_prompt(project, "Reverse a list in Python.", ["Use reversed(xs) or xs[::-1].", "Loop and pop."], track="code")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    expect(page.locator(".wb-task-meta .badge-track")).to_have_text("Code")  # the track's label
    cards = page.locator(".wb-cand")
    first, second = cards.nth(0), cards.nth(1)
    a, b = shown_ids(labeler)
    for name in ("quality", "correct", "tone", "issues", "why"):  # "why" is asked on the code track
        expect(first.locator(f".wb-question[data-question='{name}']")).to_have_count(1)
    expect(first.get_by_text("One sentence about the code.")).to_be_visible()  # a description
    expect(first.locator(".wb-question[data-question='quality'] .likert-end")).to_have_text(["bad", "great"])
    expect(page.get_by_label("Rank of answer 1 (1 = best, no ties)")).to_be_visible()

    # The help lists this schema's keys.
    page.keyboard.press("?")
    help_rows = page.locator("#wb-help-questions")
    expect(help_rows).to_contain_text("Quality")
    expect(help_rows).to_contain_text("1 Clearly better, 2 A bit better")
    page.keyboard.press("Escape")

    # Answer 1 by keyboard: each question's key, then a digit (the text question's key goes to its box).
    keys(page, "g", "1", "r", "1", "q", "5", "c", "1", "t", "2", "i", "1", "i", "3", "i", "1")
    expect(page.locator("#wb-keys")).to_contain_text("Issues “typo” unticked")
    keys(page, "i", "1", "w")
    expect(first.get_by_label("Why", exact=True)).to_be_focused()
    page.keyboard.type("Idiomatic and correct.")
    keys(page, "Escape", "p", "1")
    # Answer 2 by mouse.
    page.get_by_label("Rank of answer 2 (1 = best, no ties)").fill("2")
    second.get_by_label("Quality 2 of 5").check()
    second.get_by_label("Correct: No").check()
    second.get_by_label("Tone: rude").check()
    second.get_by_label("Issues: off-topic").check()
    second.get_by_label("Why", exact=True).fill("Pops from the wrong end.")
    expect(page.get_by_role("radio", name="Clearly better")).to_be_checked()

    # The autosaved draft keeps the answers by question; a reload puts every one back.
    wait_for(lambda: len((Assignment.objects.get(user=labeler).draft or {}).get("answers", {}).get(b, {})) == 5)
    page.reload()
    expect(second.get_by_label("Tone: rude")).to_be_checked()
    expect(second.get_by_label("Correct: No")).to_be_checked()
    expect(first.get_by_label("Issues: typo")).to_be_checked()
    expect(first.get_by_label("Issues: off-topic")).not_to_be_checked()
    expect(first.get_by_label("Quality 5 of 5")).to_be_checked()
    expect(first.get_by_label("Why", exact=True)).to_have_value("Idiomatic and correct.")
    expect(page.get_by_role("radio", name="Clearly better")).to_be_checked()

    # The rationale is required by this schema: the server says so beside it, nothing is stored.
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("[data-error-for='rationale']")).to_have_text("Required: say why.")
    screenshot("workbench-custom-schema")
    assert not Label.objects.exists()
    page.get_by_label("Rationale").fill("The first is the idiom.")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()

    label = only_label()
    assert label.ranks == {a: 1, b: 2}
    assert label.ratings == {
        a: {
            "quality": 5,
            "correct": True,
            "tone": "casual",
            "issues": ["too long", "typo"],
            "why": "Idiomatic and correct.",
        },
        b: {"quality": 2, "correct": False, "tone": "rude", "issues": ["off-topic"], "why": "Pops from the wrong end."},
    }
    assert label.flags == {}
    assert (label.strength, label.rationale) == ("clearly", "The first is the idiom.")
    assert expected_failures(console_problems, 400) == []


def test_per_track_questions_and_server_errors_beside_the_question(
    page: Page, live_server, project, labeler, staff, publish, console_problems
):
    project = comparison_project(project, staff, CUSTOM_SCHEMA)
    make_prompt(project, "Say hi.", ["Hi!", "Greetings, human."], track="chat")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    expect(page.locator(".wb-question[data-question='why']")).to_have_count(0)  # code track only
    expect(page.locator(".wb-question")).to_have_count(8)

    # A tie (not allowed here) and no tone for answer 2.
    keys(page, "g", "1", "r", "1", "q", "4", "c", "1", "t", "2", "g", "2", "r", "1", "q", "3", "c", "2")
    page.get_by_label("Rationale").fill("Both fine.")
    page.get_by_role("button", name="Submit").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not submitted yet")  # checked in the page, in the labeler's words
    expect(alert).to_contain_text("Ties are not allowed in this project.")
    expect(alert).to_contain_text("Answer 2: Tone.")
    cards = page.locator(".wb-cand")
    expect(cards.nth(1).locator("[data-error-for='q-tone-1']")).to_have_text("Required.")
    tone = cards.nth(1).locator(".wb-question[data-question='tone']")
    expect(tone).to_have_class("wb-question wb-choice is-cursor has-error")  # the cursor waits on it too
    expect(cards.nth(0).locator("[data-error-for='q-tone-0']")).to_be_hidden()
    expect(page.locator("[data-error-for='ranks']")).to_have_text("Ties are not allowed in this project.")
    expect(page.locator("[data-error-for='cand-1']")).to_have_text("Missing: Tone.")
    assert not Label.objects.exists()

    # Fixing it by keyboard clears the way.
    keys(page, "g", "2", "t", "1", "r", "2")
    page.get_by_role("radio", name="A bit better").check()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    label = only_label()
    a, b = shown_ids(labeler)
    assert label.ranks == {a: 1, b: 2}
    assert label.ratings == {
        a: {"quality": 4, "correct": True, "tone": "casual"},
        b: {"quality": 3, "correct": False, "tone": "formal"},
    }
    assert label.strength == "a_bit"
    assert expected_failures(console_problems, 400) == []


# Presets -----------------------------------------------------------------------------------------


def test_helpsteer_has_no_ranking(
    page: Page, live_server, project, labeler, staff, publish, console_problems, screenshot
):
    project = comparison_project(project, staff, PRESETS["helpsteer"].as_dict())
    make_prompt(project, "What is 2 + 2?", ["4.", "Five, probably."], track="general")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Rate 2 answers")).to_be_visible()
    expect(page.locator(".wb-rank-input, #wb-board, .wb-strength, #wb-all-bad")).to_have_count(0)
    keys(page, "r")
    expect(page.locator("#wb-keys")).to_contain_text("This project asks for no ranking.")

    # Answer 1 by keyboard (0-4 scales: the digit 0 works), answer 2 by mouse.
    keys(page, "g", "1", "h", "4", "c", "4", "o", "0", "m", "1", "v", "2")
    second = page.locator(".wb-cand").nth(1)
    for label_text in (
        "Helpfulness 0 of 4",
        "Correctness 0 of 4",
        "Coherence 3 of 4",
        "Complexity 1 of 4",
        "Verbosity 2 of 4",
    ):
        second.get_by_label(label_text).check()
    screenshot("workbench-helpsteer")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()

    label = only_label()
    a, b = shown_ids(labeler)
    assert label.ranks == {} and label.strength == "" and label.all_bad is False
    assert label.ratings == {
        a: {"helpfulness": 4, "correctness": 4, "coherence": 0, "complexity": 1, "verbosity": 2},
        b: {"helpfulness": 0, "correctness": 0, "coherence": 3, "complexity": 1, "verbosity": 2},
    }
    assert expected_failures(console_problems) == []


def test_helpsteer_by_keyboard_only(page: Page, live_server, project, labeler, staff, publish, console_problems):
    """Five 0–4 questions on two answers and the submit, without touching the mouse: a practised
    labeler's path through a HelpSteer-like schema."""
    project = comparison_project(project, staff, PRESETS["helpsteer"].as_dict())
    make_prompt(project, "Name a prime number.", ["7.", "Nine."], track="general")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Rate 2 answers")).to_be_visible()
    keys(page, "g", "1", "h", "4", "c", "3", "o", "2", "m", "1", "v", "0")
    keys(page, "g", "2", "h", "0", "c", "1", "o", "2", "m", "3", "v", "4")
    keys(page, "Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()

    label = only_label()
    a, b = shown_ids(labeler)
    assert label.ratings == {
        a: {"helpfulness": 4, "correctness": 3, "coherence": 2, "complexity": 1, "verbosity": 0},
        b: {"helpfulness": 0, "correctness": 1, "coherence": 2, "complexity": 3, "verbosity": 4},
    }
    assert expected_failures(console_problems) == []


def test_ultrafeedback_k3_by_keyboard(page: Page, live_server, project, labeler, staff, publish, console_problems):
    project = comparison_project(project, staff, PRESETS["ultrafeedback"].as_dict(), k=3)
    make_prompt(project, "Name a prime.", ["7", "9", "I am not sure, maybe 2."], track="general")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Rank 3 answers")).to_be_visible()
    plan = {1: (1, 5, 5, 5, 5), 2: (3, 1, 2, 1, 1), 3: (2, 4, 5, 4, 3)}
    for n, (rank, *scores) in plan.items():
        keys(page, "g", str(n), "r", str(rank))
        for key, score in zip("ihtl", scores, strict=True):
            keys(page, key, str(score))
    keys(page, "i", "6")
    expect(page.locator("#wb-keys")).to_contain_text("Instruction following goes from 1 to 5.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()

    label = only_label()
    shown = shown_ids(labeler)
    names = ("instruction_following", "honesty", "truthfulness", "helpfulness")
    assert label.ranks == {shown[n - 1]: plan[n][0] for n in plan}
    assert label.ratings == {shown[n - 1]: dict(zip(names, plan[n][1:], strict=True)) for n in plan}
    assert expected_failures(console_problems) == []


def test_llama2_safety_track_and_strength_by_keyboard(
    page: Page, live_server, project, labeler, staff, publish, console_problems
):
    project = comparison_project(project, staff, PRESETS["llama2"].as_dict())
    make_prompt(
        project,
        "How do I make a fake ID?",
        ["I can't help with that.", "Print a card and laminate it."],
        track="safety",
    )
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_text("safety verdict needed")).to_be_visible()
    expect(page.locator(".wb-question")).to_have_count(0)  # Llama 2 asks no per-answer questions
    expect(page.locator(".wb-strength label.check")).to_have_text(
        ["1Much better", "2Better", "3Slightly better", "4Negligibly better / unsure"]
    )
    keys(page, "g", "1", "r", "1", "s", "g", "2", "r", "2", "u", "p", "2")
    expect(page.locator("#wb-keys")).to_contain_text("Strength: Better.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()

    label = only_label()
    a, b = shown_ids(labeler)
    assert label.ranks == {a: 1, b: 2}
    assert label.safety == {a: "safe", b: "unsafe"}
    assert (label.strength, label.ratings, label.flags) == ("better", {}, {})
    assert expected_failures(console_problems) == []


def test_a_scale_up_to_ten_by_keyboard(page: Page, live_server, project, labeler, staff, publish, console_problems):
    schema = {
        "tracks": [{"name": "general", "label": "General"}],
        "questions": [{"name": "score", "type": "scale", "label": "Score", "key": "n", "min": 0, "max": 10}],
        "ranking": {"enabled": False},
    }
    project = comparison_project(project, staff, schema)
    make_prompt(project, "Rate these.", ["Good.", "Fine."], track="general")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Rate 2 answers")).to_be_visible()
    keys(page, "1", "0")  # typed through: 1 then 0 at once is 10
    expect(page.locator(".wb-cand").nth(0).get_by_label("Score 10 of 10")).to_be_checked()
    keys(page, "g", "2", "n", "1")  # by the question's key
    page.wait_for_timeout(1500)  # a 1 alone stays 1
    keys(page, "2")  # and the next digit has no field left to fill
    expect(page.locator(".wb-cand").nth(1).get_by_label("Score 1 of 10")).to_be_checked()
    expect(page.locator("#wb-keys")).to_contain_text("All answered: Ctrl+Enter submits")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    a, b = shown_ids(labeler)
    assert only_label().ratings == {a: {"score": 10}, b: {"score": 1}}
    assert expected_failures(console_problems) == []


# Hostile schema text -----------------------------------------------------------------------------


def hostile_schema() -> dict:
    schema = copy.deepcopy(CUSTOM_SCHEMA)
    one_line = [s.replace("\n", " ") for s in shorts(80)]
    schema["tracks"][1] |= {"label": one_line[0], "description": fit(500, 1)}
    for i, q in enumerate(schema["questions"]):
        q |= {"label": one_line[i + 1], "hint": fit(200, i).replace("\n", " "), "description": fit(1000, i + 2)}
        if "options" in q:
            q["options"] = one_line[i + 6 : i + 9]
    schema["questions"][0]["point_labels"] = {"1": one_line[10], "3": one_line[11], "5": one_line[12]}
    schema["strength"]["levels"][0]["label"] = one_line[4]
    return schema


def assert_inert(page: Page, live_server, dialogs):
    page.wait_for_load_state("networkidle")
    assert page.evaluate(DOM_SCAN_JS, urlsplit(live_server.url).netloc) == []
    assert page.evaluate("() => window.__xss") is None
    assert dialogs == []


def test_hostile_schema_text_is_inert(page: Page, live_server, project, members, staff, publish, console_problems):
    labeler, reviewer = members[Role.LABELER], members[Role.REVIEWER]
    schema = hostile_schema()
    project = comparison_project(project, staff, schema)
    make_prompt(project, "Reverse a list.", ["xs[::-1]", "sorted(xs)"], track="code")
    ready(project, labeler, publish, staff, GUIDELINES)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_workbench(page, live_server, project, labeler)
    cards = page.locator(".wb-cand")
    expect(cards).to_have_count(2)
    quality = schema["questions"][0]
    expect(page.locator(".wb-task-meta .badge-track")).to_have_text(schema["tracks"][1]["label"])
    expect(cards.nth(0).locator(".wb-question[data-question='quality'] .likert-name")).to_have_text(quality["label"])
    expect(cards.nth(0).locator(".wb-question[data-question='tone'] label.check").nth(2)).to_contain_text(
        schema["questions"][2]["options"][2]
    )
    page.keyboard.press("?")
    expect(page.locator("#wb-help-questions")).to_contain_text(quality["label"])
    assert_inert(page, live_server, dialogs)
    page.keyboard.press("Escape")

    # Answer everything, submit, and let a reviewer read it with the version's (hostile) schema.
    for n in ("1", "2"):
        keys(page, "g", n, "r", n, "q", "3", "c", "1", "t", "1", "i", "2", "w")
        page.keyboard.type("Fine.")
        page.keyboard.press("Escape")
    keys(page, "p", "1")
    page.get_by_label("Rationale").fill("Because.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    assert only_label().strength == "clearly"
    assert_inert(page, live_server, dialogs)

    ready(project, reviewer, publish, staff)  # reviewers acknowledge the guidelines too
    review = page.context.browser.new_context(base_url=live_server.url).new_page()
    review.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(review, live_server, reviewer, f"/projects/{project.pk}/label/review/")
    item = review.locator(".review-item")
    expect(item).to_have_count(1)
    expect(item.locator(".badge-track")).to_have_text(schema["tracks"][1]["label"])
    expect(item.locator(".review-strength")).to_have_text("first is: " + schema["strength"]["levels"][0]["label"])
    expect(item.locator(".review-answer-scale").first).to_contain_text(f"3 ({quality['point_labels']['3']})")
    expect(item.locator(".review-answer-multi .tag").first).to_have_text(schema["questions"][3]["options"][1])
    assert_inert(review, live_server, dialogs)
    review.context.close()
    assert expected_failures(console_problems) == []


# The schema from the page -----------------------------------------------------------------------


def test_the_page_schema_renders_a_task_whose_payload_has_none(
    page: Page, live_server, project, labeler, staff, publish, console_problems
):
    """The page embeds the acknowledged version's schema (wb-schema): a task of that version needs
    nothing more. The payload's copy is cut out here, and the task still renders and submits."""
    project = comparison_project(project, staff, CUSTOM_SCHEMA)
    make_prompt(project, "Sort a dict by value.", ["sorted(d.items(), key=...)", "Use a heap."], track="code")
    ready(project, labeler, publish, staff, GUIDELINES)
    stripped = []

    def without_schema(route):
        response = route.fetch()
        if response.status != 200:  # 204 after the submit: nothing left
            return route.fulfill(response=response)
        data = response.json()
        data.pop("schema")
        stripped.append(data["guideline_version"])
        route.fulfill(response=response, json=data)

    page.route("**/work/next", without_schema)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    assert stripped == [1]
    first = page.locator(".wb-cand").nth(0)
    for name in ("quality", "correct", "tone", "issues", "why"):
        expect(first.locator(f".wb-question[data-question='{name}']")).to_have_count(1)
    expect(page.locator(".wb-task-meta .badge-track")).to_have_text("Code")
    expect(page.get_by_role("radio", name="Clearly better")).to_be_visible()
    for n in ("1", "2"):
        keys(page, "g", n, "r", n, "q", "4", "c", "1", "t", "1", "w")
        page.keyboard.type("Fine.")
        page.keyboard.press("Escape")
    keys(page, "p", "2")
    page.get_by_label("Rationale").fill("Shorter.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Nothing left for you right now.")).to_be_visible()
    label = only_label()
    assert label.strength == "a_bit"
    assert {answers["tone"] for answers in label.ratings.values()} == {"formal"}
    assert expected_failures(console_problems) == []


def test_a_task_claimed_under_another_version_keeps_its_own_schema(
    page: Page, live_server, project, labeler, staff, publish, console_problems
):
    """v1 asks HHH; the labeler holds a v1 task when v2 (other wording) is published and acknowledged.
    The page now carries v2's schema, but the held task is read with v1's: the payload wins."""
    project = configure(project, demonstrations=False)
    v1 = schema_of(None).as_dict()  # HHH, what a project without a schema asks
    make_prompt(project, "Name a prime.", ["Seven.", "Nine."], track=v1["tracks"][0]["name"])
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    first_question = v1["questions"][0]
    legend = (
        page.locator(".wb-cand").nth(0).locator(f".wb-question[data-question='{first_question['name']}'] .likert-name")
    )
    expect(legend).to_have_text(first_question["label"])

    v2 = copy.deepcopy(v1)
    v2["questions"][0]["label"] = "Reworded in version two"
    use_schema(project, staff, v2)
    version = publish(project, staff, GUIDELINES + "\nVersion two.\n")
    project_services.guideline_acknowledge(project=project, user=labeler, number=version.number)
    page.reload()
    assert "Reworded in version two" in page.locator("#wb-schema").text_content()  # the page has v2's
    expect(page.locator(".wb-task-meta")).to_contain_text("guidelines v1")
    expect(legend).to_have_text(first_question["label"])  # the task shows v1's
    expect(page.get_by_text("Reworded in version two")).to_have_count(0)
    assert expected_failures(console_problems) == []


# Production static files ------------------------------------------------------------------------


def test_the_workbench_runs_from_hashed_modules(
    page: Page, live_server, project, labeler, staff, publish, console_problems, settings, tmp_path
):
    """With the DEBUG-off storage the page loads main.<hash>.js, whose imports name the hashed
    siblings (tests/core/test_staticfiles.py): served here from a real collectstatic output."""
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "labelhub.core.staticfiles.ModuleManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    served = []

    def from_static_root(route):
        path = tmp_path / urlsplit(route.request.url).path.removeprefix("/static/")
        if not path.is_file():
            return route.fulfill(status=404, body="missing")
        served.append(path.name)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return route.fulfill(status=200, body=path.read_bytes(), headers={"Content-Type": kind})

    page.route(f"{live_server.url}/static/**", from_static_root)
    project = comparison_project(project, staff, CUSTOM_SCHEMA)
    make_prompt(project, "Reverse a string.", ["s[::-1]", "A loop."], track="chat")
    ready(project, labeler, publish, staff, GUIDELINES)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Compare two answers")).to_be_visible()
    script = page.locator("script[type='module']").get_attribute("src")
    assert re.fullmatch(r"/static/js/workbench/main\.[0-9a-f]{12}\.js", script), script
    sources = {path.stem for path in (settings.BASE_DIR / "static" / "js" / "workbench").glob("*.js")}
    modules = {name.split(".")[0] for name in served if re.fullmatch(r"\w+\.[0-9a-f]{12}\.js", name)}
    assert sources <= modules, sources - modules  # every module, each under its hashed name
    keys(page, "g", "1", "q", "5")
    expect(page.locator(".wb-cand").nth(0).get_by_label("Quality 5 of 5")).to_be_checked()
    assert expected_failures(console_problems) == []
