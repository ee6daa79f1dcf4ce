from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import services
from .models import GenerationJob, JobStatus
from .signals import job_finished


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def generate_candidate_task(self, *, job_id: int) -> str:
    """Generate one candidate. Time limits are set per message from the config's max_tokens
    (see services.generation_feed); retries keep the task id, so they stay the job's own. A job
    that finished makes room for its project's next one (fair share)."""
    try:
        outcome = services.generation_job_run(job_id=job_id, task_id=self.request.id)
    except SoftTimeLimitExceeded:
        outcome = services.generation_job_timed_out(job_id=job_id, task_id=self.request.id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    if outcome.status in (JobStatus.DONE, JobStatus.FAILED):
        services.generation_feed_after_job(job_id=job_id)
        job_finished.send_robust(sender=GenerationJob, job_id=job_id)
    return outcome.status


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=90)
def model_config_check_task(*, config_id: int) -> None:
    services.model_config_check_run(config_id=config_id)


@shared_task(soft_time_limit=120, time_limit=150)
def generation_reaper_task() -> dict:
    return services.generation_reap()
