"""A run's report: the statistics of evaluation/report.py over the run's labels (read by outcomes)."""

from django.conf import settings

from .. import report as stats
from ..models import EvaluationRun, RunStatus
from ..outcomes import pair_outcomes


def _previous_run(run: EvaluationRun) -> EvaluationRun | None:
    """The latest finished run on the same set with a smaller number."""
    return (
        EvaluationRun.objects.filter(
            evaluation_set_id=run.evaluation_set_id, status=RunStatus.FINISHED, number__lt=run.number
        )
        .only("pk", "number")
        .order_by("-number")
        .first()
    )


def _thresholds(run: EvaluationRun) -> dict:
    defaults = {"min_win_rate": getattr(settings, "EVALUATION_MIN_WIN_RATE", 0.4)}
    return {**defaults, **(run.thresholds if isinstance(run.thresholds, dict) else {})}


def report_compute(*, run: EvaluationRun) -> dict:
    """The report of `run` from its labels now (JSON-able; at most 8 queries whatever the run's size)."""
    previous = _previous_run(run)
    report = stats.build_report(
        pair_outcomes(run=run),
        previous=pair_outcomes(run=previous) if previous else None,
        thresholds=_thresholds(run),
    )
    if report["previous"] is not None:
        report["previous"]["run_id"] = previous.pk
        report["previous"]["run_number"] = previous.number
    return report


def evaluation_report(*, run: EvaluationRun) -> dict:
    """The frozen report of a finished run, else the report computed now."""
    return run.report if run.is_finished and run.report is not None else report_compute(run=run)
