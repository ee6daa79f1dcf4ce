import logging

from celery import shared_task

from labelhub.projects.models import Project

from . import services

logger = logging.getLogger(__name__)


@shared_task(soft_time_limit=300, time_limit=330)
def labeling_maintenance_task() -> dict:
    """Periodic: build work items for new prompts/candidates and free expired leases."""
    built = {"demonstration": 0, "comparison": 0}
    for project in Project.objects.all().iterator():
        for kind, n in services.work_items_sync(project=project).items():
            built[kind] += n
    return {"built": built, "expired": services.assignments_expire()}


@shared_task(acks_late=True, soft_time_limit=300, time_limit=330)
def work_items_sync_task(*, project_id: int) -> dict:
    project = Project.objects.filter(pk=project_id).first()
    return services.work_items_sync(project=project) if project else {}


def work_items_sync_on_import(sender, *, project_id: int, **kwargs) -> None:
    """Receiver of prompts.signals.prompts_imported (connected in labeling/apps.py), run on commit:
    the new prompts become work items. The periodic maintenance task catches up if the send fails."""
    try:
        work_items_sync_task.apply_async(kwargs={"project_id": project_id})
    except Exception as exc:  # noqa: BLE001 - the periodic task will do it
        logger.warning("could not queue the work item sync for project %s: %s", project_id, type(exc).__name__)
