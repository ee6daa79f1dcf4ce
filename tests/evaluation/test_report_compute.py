"""report_compute on runs made with the ORM: the same numbers as the pure module, the previous run found,
and a query count that does not grow with the run."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labelhub.evaluation import report as R
from labelhub.evaluation.models import RunStatus
from labelhub.evaluation.selectors.report import evaluation_report, report_compute

from .report_world import World, sim_pairs, spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, staff):
    return World(project, staff)


def test_report_compute_gives_the_pure_modules_numbers(world):
    specs = [spec(i) for i in range(24)]
    run = world.run(specs, thresholds={"min_win_rate": 0.55})
    got = report_compute(run=run)
    assert got == R.build_report(sim_pairs(specs), thresholds={"min_win_rate": 0.55})
    assert got["overall"]["n_pairs"] == 24 and got["overall"]["n_labels"] == 72
    assert {row["name"] for row in got["breakdowns"]["category"]} == {"math", "prose"}
    assert {row["name"] for row in got["questions"]} == {"helpful", "correct"}
    assert got["previous"] is None


def test_versus_the_latest_finished_earlier_run(world):
    first = world.run([spec(i) for i in range(20)], number=1, status=RunStatus.FINISHED)
    world.run([spec(i + 1) for i in range(20)], number=2, status=RunStatus.CANCELLED)
    now = world.run([spec(i + 2) for i in range(20)], number=3)
    got = report_compute(run=now)
    assert got["previous"]["run_number"] == 1 and got["previous"]["run_id"] == first.pk
    expected = R.versus_previous(sim_pairs([spec(i + 2) for i in range(20)]), sim_pairs([spec(i) for i in range(20)]))
    assert got["previous"]["score"] == expected["score"]


def test_a_finished_run_reads_its_frozen_report(world):
    run = world.run([spec(i) for i in range(3)], status=RunStatus.FINISHED)
    run.report = {"overall": {"score": {"value": 0.5}}, "alarms": []}
    assert evaluation_report(run=run) == run.report
    run.status = RunStatus.LABELING
    live = evaluation_report(run=run)
    assert live["overall"]["n_pairs"] == 3 and live["live"] is True and live["resamples"] == 200


def _queries(run) -> int:
    with CaptureQueriesContext(connection) as ctx:
        report_compute(run=run)
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_run(world, project):
    small = world.run([spec(i) for i in range(4)], number=1, status=RunStatus.FINISHED)
    big = world.run([spec(i) for i in range(30)], number=2)
    assert _queries(small) == _queries(big) - 4  # the big one also reads its previous run (4 queries)
    assert _queries(big) == 8  # previous run, then twice: pairs, candidates, labels (+ prompt)
