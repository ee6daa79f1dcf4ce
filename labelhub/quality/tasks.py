from celery import shared_task
from django.core.cache import cache

from .services import project_stats_refresh, project_stats_refresh_due


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1500, time_limit=1600)
def project_stats_task(*, project_id: int) -> None:
    try:
        project_stats_refresh(project_id=project_id)
    finally:
        cache.delete(f"labelhub:stats-requested:{project_id}")


@shared_task
def project_stats_refresh_due_task() -> int:
    return project_stats_refresh_due()
