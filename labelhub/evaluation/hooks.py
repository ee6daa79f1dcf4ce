"""Receivers of the signals of the apps below (connected in apps.py): they only enqueue the advance
of the run concerned, after commit. The beat (evaluation_runs_advance_task, ~15 s) catches anything
missed (broker down, a worker killed between the job's commit and the signal)."""

from django.db import transaction

from .services.runs import advance_later, runs_waiting_on_job


def advance_on_job_finished(sender, *, job_id: int, **kwargs) -> None:
    """generation.signals.job_finished: sent by the generation task outside any transaction."""
    for run_id in runs_waiting_on_job(job_id=job_id):
        advance_later(run_id)


def advance_on_item_completed(sender, *, work_item_id: int, origin=None, **kwargs) -> None:
    """labeling.signals.comparison_item_completed: inside the submit's transaction. No query: the
    item's origin says whether it is a run's pair (training items cost nothing here)."""
    run_id = origin.get("evaluation_run") if isinstance(origin, dict) else None
    if isinstance(run_id, int) and not isinstance(run_id, bool):
        transaction.on_commit(lambda: advance_later(run_id))
