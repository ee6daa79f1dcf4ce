"""A run's report (owned by the report stream: this first version only counts outcomes)."""

from ..models import EvaluationRun
from ..outcomes import RESULTS, pair_outcomes


def report_compute(*, run: EvaluationRun) -> dict:
    """The report of `run` from its labels now (JSON-able)."""
    outcomes = pair_outcomes(run=run)
    counts = {result: sum(o.count(result) for o in outcomes) for result in RESULTS}
    return {"overall": {"n_pairs": len(outcomes), **counts}, "alarms": []}


def evaluation_report(*, run: EvaluationRun) -> dict:
    """The frozen report of a finished run, else the report computed now."""
    return run.report if run.is_finished and run.report is not None else report_compute(run=run)
