"""Evaluation's Celery tasks (queue `fast`, CELERY_TASK_ROUTES): a few lines that call one service."""

from celery import shared_task

from .services import runs


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=120, time_limit=150)
def evaluation_run_advance_task(*, run_id: int) -> str | None:
    """Move one run along (after a job of its batches finished, a label completed one of its items,
    or it was created / resumed). Idempotent: duplicates and races are harmless (row lock)."""
    return runs.evaluation_run_advance(run_id=run_id)


@shared_task(soft_time_limit=120, time_limit=150)
def evaluation_runs_advance_task() -> int:
    """The beat's safety net (~15 s): every run not finished, whatever hook was missed."""
    return runs.evaluation_runs_advance_open()
