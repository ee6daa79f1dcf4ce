"""A run's report: the statistics of evaluation/report.py over the run's labels (read by outcomes)."""

from django.conf import settings

from .. import report as stats
from ..models import EvaluationRun, RunStatus
from ..outcomes import pair_outcomes

LIVE_RESAMPLES = 200  # a live (unfinished) report: intervals from fewer resamples, recomputed on each view


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


def report_compute(*, run: EvaluationRun, n_resamples: int = stats.N_RESAMPLES) -> dict:
    """The report of `run` from its labels now (JSON-able; at most 8 queries whatever the run's size).
    The frozen report uses the full number of bootstrap resamples; a live one may use fewer."""
    previous = _previous_run(run)
    report = stats.build_report(
        pair_outcomes(run=run),
        previous=pair_outcomes(run=previous) if previous else None,
        thresholds=_thresholds(run),
        n_resamples=n_resamples,
    )
    if report["previous"] is not None:
        report["previous"]["run_id"] = previous.pk
        report["previous"]["run_number"] = previous.number
    return report


def evaluation_report(*, run: EvaluationRun) -> dict:
    """The frozen report of a finished run, else the report computed now (with fewer bootstrap resamples:
    a page view of a run still labelling stays well under a second at a few thousand pairs)."""
    if run.is_finished and run.report is not None:
        return run.report
    return {**report_compute(run=run, n_resamples=LIVE_RESAMPLES), "live": True}
