"""The quality tables on a laptop and on a phone, with the export fixture's project (three labelers,
two models, flags, safety verdicts): at 1366 px every column is on screen without scrolling (the
labelers' flags and actions, the leaderboard's unsafe rate); at 390 px the page does not scroll
sideways, a wide table scrolls inside its own box, and a keyboard user scrolls it (the box is a
named region that takes focus). tests/e2e/test_axe_sweep.py checks every page; this pins the
columns the issue named."""

import pytest
from playwright.sync_api import Page, expect

from labelhub.quality.services import project_stats_refresh

from ..exports.conftest import golden  # noqa: F401 - the export fixture project

PASSWORD = "correct horse battery staple"  # tests/factories.py


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()


def _right_edge(locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"]


def _sideways(page: Page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_quality_tables_fit_a_laptop_and_scroll_in_their_box_on_a_phone(page: Page, live_server, golden, staff):  # noqa: F811
    project_stats_refresh(project_id=golden.project.pk)
    page.set_viewport_size({"width": 1366, "height": 768})
    _login(page, live_server.url, staff.username)
    base = f"{live_server.url}/projects/{golden.project.pk}"

    # A laptop: the last columns are on screen, no table scrolls.
    page.goto(f"{base}/quality/labelers/")
    labelers = page.get_by_role("region", name="Labeler table", exact=True)
    expect(labelers.get_by_role("columnheader", name="Flags")).to_be_visible()
    assert _right_edge(labelers.locator("thead th").last) <= 1366
    assert labelers.evaluate("el => el.scrollWidth <= el.clientWidth")
    page.goto(f"{base}/quality/leaderboard/")
    leaderboard = page.get_by_role("region", name="Leaderboard", exact=True)
    unsafe = leaderboard.get_by_role("columnheader", name="Unsafe rate")
    expect(unsafe).to_be_visible()
    assert _right_edge(unsafe) <= 1366
    assert leaderboard.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert _sideways(page) <= 0

    # A phone: the page stays 390 px wide; the leaderboard scrolls in its box, by keyboard too.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/quality/leaderboard/")
    assert _sideways(page) <= 0
    leaderboard = page.get_by_role("region", name="Leaderboard", exact=True)
    assert leaderboard.evaluate("el => el.scrollWidth > el.clientWidth")
    assert _right_edge(leaderboard.get_by_role("columnheader", name="Unsafe rate")) > 390
    leaderboard.focus()
    expect(leaderboard).to_be_focused()
    page.keyboard.press("End")  # Chromium scrolls the focused box; End: as far right as it goes
    for _ in range(40):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "el => el.scrollLeft + el.clientWidth >= el.scrollWidth - 2", arg=leaderboard.element_handle()
    )
    assert _right_edge(leaderboard.get_by_role("columnheader", name="Unsafe rate")) <= 390

    # The project's navigation wraps: every tab is on screen.
    tabs = page.locator(".tabs a")
    assert tabs.count() >= 8
    for i in range(tabs.count()):
        assert _right_edge(tabs.nth(i)) <= 390
    for path in ("quality/", "quality/labelers/", "exports/"):
        page.goto(f"{base}/{path}")
        assert _sideways(page) <= 0, path
