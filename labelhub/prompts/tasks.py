from celery import shared_task

from .services import prompt_import_run, prompt_imports_reap


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def prompt_import_task(*, import_id: int) -> None:
    prompt_import_run(import_id=import_id)


@shared_task(soft_time_limit=60, time_limit=90)
def prompt_imports_reap_task() -> dict:
    return prompt_imports_reap()
