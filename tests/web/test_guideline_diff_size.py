"""Guideline diffs of large or repetitive versions answer quickly everywhere they are shown (API, web
unified and side by side, the workbench's acknowledgement gate): difflib took ~17 s for the issue's
6,000 short repeating lines. Past its budget the diff is coarse and the page says so; a page shows at
most core.diff.MAX_ROWS rows."""

import random
import time

import pytest
from django.urls import reverse

from labelhub.core.diff import MAX_ROWS
from labelhub.projects import services as project_services
from labelhub.projects.models import Role

pytestmark = pytest.mark.django_db

SECONDS = 5  # generous on a shared 2-core machine: the diff itself takes ~0.2 s (bench/bench_diff.py)


def _repeating() -> tuple[str, str]:
    """The issue's case: two ~12 KB versions of 6,000 short repeating lines, a few edits."""
    old = [("- a", "- b", "- c")[n % 3] for n in range(6_000)]
    new = list(old)
    new[1_000], new[3_000], new[5_000] = "- changed", "- changed", "- changed"
    return "\n".join(old), "\n".join(new)


def _issue() -> tuple[str, str]:
    """Two 12 KB versions of 6,000 short lines with no line unique: difflib's SequenceMatcher ran for
    minutes on this (over 120 s here) and held a server worker all along."""
    return "\n".join(["a", "b"] * 3_000), "\n".join(["a", "b", "c"] * 2_000)


def _worst() -> tuple[str, str]:
    """Two 200,000-character versions of 100,000 random one-letter lines: past the budget, coarse."""
    rng = random.Random(1)
    return "\n".join(rng.choices("abc", k=100_000))[:200_000], "\n".join(rng.choices("abc", k=100_000))[:200_000]


def _views(project, labeler):
    base = reverse("projects:guideline-diff", args=[project.pk])
    return {
        "api": (None, f"/api/v1/projects/{project.pk}/guidelines/diff?from=1&to=2"),
        "unified": (None, f"{base}?from=1&to=2&mode=unified"),
        "side": (None, f"{base}?from=1&to=2&mode=side"),
        "gate": (labeler, reverse("projects:labeling:workbench", args=[project.pk])),
    }


@pytest.fixture
def versions(project, staff, members, publish):
    def make(old, new):
        publish(project, staff, old)
        project_services.guideline_acknowledge(project=project, user=members[Role.LABELER], number=1)
        publish(project, staff, new)
        return project

    return make


@pytest.mark.parametrize("where", ["api", "unified", "side", "gate"])
@pytest.mark.parametrize("case", ["repeating", "issue", "worst"])
def test_large_diffs_answer_quickly(versions, members, staff, client_for, where, case):
    project = versions(*{"repeating": _repeating, "issue": _issue, "worst": _worst}[case]())
    user, url = _views(project, members[Role.LABELER])[where]
    client = client_for(user or staff)
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed < SECONDS, f"{where}: {elapsed:.1f} s"
    if where == "api":
        body = response.json()
        assert body["coarse"] is (case != "repeating")
        if case == "repeating":
            assert (body["added"], body["removed"]) == (3, 3)
        return
    html = response.content.decode()
    if where == "gate":  # the rendered block diff (core.blockdiff): huge one-paragraph versions are cut
        assert ("Only the beginning of the diff is shown" in html) is (case != "repeating")
        assert html.count('class="bd-block') <= 300
        return
    assert ("Coarse diff" in html) is (case != "repeating")
    assert ("Only the beginning of the diff is shown" in html) is (case != "repeating")
    assert html.count('class="diff-line') <= MAX_ROWS and html.count("<tr class=") <= MAX_ROWS + 1


def test_the_repeating_case_shows_exactly_its_three_edits(versions, staff, client_for):
    project = versions(*_repeating())
    base = reverse("projects:guideline-diff", args=[project.pk])
    html = client_for(staff).get(f"{base}?from=1&to=2&mode=side").content.decode()
    assert html.count('<tr class="diff-row-replace">') == 3
    assert html.count('<tr class="diff-row-skip">') == 4  # unchanged runs collapsed, with their size
    assert "⋯ 996 unchanged lines" in html and "Coarse diff" not in html
