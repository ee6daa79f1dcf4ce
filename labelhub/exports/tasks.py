from celery import shared_task

from .services import BUILD_TIME_LIMIT, snapshot_build, snapshots_resend


@shared_task(
    acks_late=True, reject_on_worker_lost=True, soft_time_limit=BUILD_TIME_LIMIT - 200, time_limit=BUILD_TIME_LIMIT
)
def snapshot_build_task(*, snapshot_id: int, task_id: str) -> None:
    snapshot_build(snapshot_id=snapshot_id, task_id=task_id)


@shared_task
def exports_maintenance_task() -> int:
    return snapshots_resend()
