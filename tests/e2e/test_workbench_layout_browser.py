"""The comparison page's layout in a real browser: on a 1366 × 768 laptop a K = 4 comparison shows every
answer's top and the Submit button at once (answers in columns, a sticky bottom bar with the ranking, the
status and Submit), K = 2 sits side by side; on a 390 px phone the task comes first, the guidelines are
shut, nothing overflows sideways and the keyboard hints are hidden on a touch screen.

Set E2E_SCREENSHOT_DIR to keep screenshots of the pages."""

import os

import pytest
from playwright.sync_api import Page, expect

from labelhub.projects.models import Role
from tests.e2e.test_workbench_browser import GUIDELINES, PASSWORD, open_workbench
from tests.workbench_helpers import configure, make_prompt, ready

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
ANSWER = (
    "Here is a careful answer.\n\n1. First, check the assumptions.\n2. Then write the code:\n\n"
    "```python\ndef area(r):\n    return 3.14159 * r * r\n```\n\n" + "A longer paragraph that wraps. " * 12
)


@pytest.fixture
def labeler(members):
    return members[Role.LABELER]


def k4_project(project, labeler, staff, publish, *, track="harmless"):
    project = configure(project, demonstrations=False, k=4)
    make_prompt(
        project, "Write a function for the area of a circle.", [f"Answer {n}. {ANSWER}" for n in range(4)], track=track
    )
    ready(project, labeler, publish, staff, GUIDELINES * 6)
    return project


def box(locator):
    found = locator.bounding_box()
    assert found is not None, locator
    return found


def within_viewport(locator, viewport):
    b = box(locator)
    return b["y"] >= 0 and b["y"] + b["height"] <= viewport["height"] and b["x"] + b["width"] <= viewport["width"]


def save(page, name):
    directory = os.environ.get("E2E_SCREENSHOT_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        page.screenshot(path=os.path.join(directory, f"{name}.png"))


def no_horizontal_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_k4_on_a_laptop_shows_every_answer_and_submit(page: Page, live_server, project, labeler, staff, publish):
    project = k4_project(project, labeler, staff, publish)
    page.set_viewport_size(LAPTOP)
    open_workbench(page, live_server, project, labeler)
    expect(page.get_by_role("heading", name="Rank 4 answers")).to_be_visible()
    cards = page.locator(".wb-cand")
    expect(cards).to_have_count(4)
    submit = page.get_by_role("button", name="Submit")

    # At the top of the page: every answer's top (its number and rank box) and Submit are on screen.
    for i in range(4):
        head = cards.nth(i).locator(".wb-cand-head")
        assert within_viewport(head, LAPTOP), (i, box(head))
    tops = {round(box(cards.nth(i))["y"]) for i in range(4)}
    assert len(tops) == 1, tops  # one row of columns
    assert within_viewport(submit, LAPTOP)
    assert within_viewport(page.locator(".wb-dock .wb-board"), LAPTOP)  # the ranking strip
    assert no_horizontal_overflow(page)
    save(page, "layout-k4-laptop")

    # Scrolled down to the rationale, the bar is still there; the text of an answer scrolls in its card.
    page.get_by_label("Rationale").scroll_into_view_if_needed()
    assert within_viewport(submit, LAPTOP)
    text = cards.nth(0).locator(".wb-text")
    assert page.evaluate("(el) => el.scrollHeight > el.clientHeight", text.element_handle())

    # The guidelines shut to a side tab: the answers get the width; the choice is remembered.
    width_open = box(cards.nth(0))["width"]
    page.locator("#wb-guidelines > summary").click()
    expect(page.locator(".workbench")).to_have_class("workbench is-guidelines-closed")
    assert box(page.locator(".wb-guidelines"))["width"] < 60
    assert box(cards.nth(0))["width"] > width_open + 40
    page.reload()
    expect(page.locator("#wb-guidelines")).not_to_have_attribute("open", "")
    expect(cards).to_have_count(4)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_k2_side_by_side(page: Page, live_server, project, labeler, staff, publish):
    project = configure(project, demonstrations=False, k=2)
    make_prompt(project, "Name a colour.", ["Blue.", "Green, like grass in spring."], track="harmless")
    ready(project, labeler, publish, staff, GUIDELINES)
    page.set_viewport_size(LAPTOP)
    open_workbench(page, live_server, project, labeler)
    cards = page.locator(".wb-cand")
    expect(cards).to_have_count(2)
    first, second = box(cards.nth(0)), box(cards.nth(1))
    assert round(first["y"]) == round(second["y"]) and second["x"] >= first["x"] + first["width"]
    assert within_viewport(page.get_by_role("button", name="Submit"), LAPTOP)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_phone_task_first_no_overflow_no_key_hints(browser, live_server, project, labeler, staff, publish):
    project = k4_project(project, labeler, staff, publish)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/?next=/projects/{project.pk}/label/")
        page.get_by_label("Username").fill(labeler.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        cards = page.locator(".wb-cand")
        expect(cards).to_have_count(4)

        # The task comes first, the guidelines below it, shut.
        expect(page.locator("#wb-guidelines")).not_to_have_attribute("open", "")
        assert box(page.locator("#wb-task"))["y"] < box(page.locator(".wb-guidelines"))["y"]
        # Nothing wider than the screen; every question fits its card.
        assert no_horizontal_overflow(page)
        for i in range(4):
            card = box(cards.nth(i))
            for fieldset in cards.nth(i).locator("fieldset").all():
                b = box(fieldset)
                assert b["x"] >= card["x"] and b["x"] + b["width"] <= card["x"] + card["width"] + 0.5, (i, b, card)
        # No key badges or key line on a touch screen; Submit is in view.
        expect(page.locator("#wb-submit kbd")).to_be_hidden()
        expect(page.locator("#wb-help-button")).to_be_hidden()  # no "Shortcuts" without a keyboard
        expect(page.locator("#wb-hint")).to_be_hidden()
        expect(cards.nth(0).locator("kbd").first).to_be_hidden()
        assert within_viewport(page.get_by_role("button", name="Submit"), PHONE)
        save(page, "layout-k4-phone")
        # Opening the guidelines on a phone does not shut them on the laptop next time.
        assert page.evaluate("Object.keys(localStorage).filter((k) => k.includes('guidelines'))") == []
    finally:
        context.close()
