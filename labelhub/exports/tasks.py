from celery import shared_task

from .services import snapshot_build, snapshots_resend


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=3300, time_limit=3500)
def snapshot_build_task(*, snapshot_id: int, task_id: str) -> None:
    snapshot_build(snapshot_id=snapshot_id, task_id=task_id)


@shared_task
def exports_maintenance_task() -> int:
    return snapshots_resend()
