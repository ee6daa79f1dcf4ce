from celery import shared_task

from labelhub.projects.models import Project

from . import services


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
