"""Candidate generation: model configs, batches of jobs, running one job, and the reaper.

Invariants:
- one job per (prompt, config, sample index) and at most one candidate per job (DB constraints);
- a job runs only under the Celery task id stored on it (claimed with a compare-and-set), so a
  duplicate or superseded message is a no-op;
- no network I/O inside a transaction; jobs are sent to the broker after commit, and the reaper
  re-sends what the broker lost (never sent, queue wiped, worker killed);
- fair share: jobs wait in PostgreSQL and the feeder sends each project at most
  GENERATION_MAX_IN_FLIGHT_PER_PROJECT at a time, oldest first, so the broker queue never holds one
  project's whole batch in front of another project's jobs;
- a running job holds a short lease that a heartbeat thread renews while the model answers, so a
  worker killed outright (SIGKILL, OOM, host lost) frees its jobs within a lease plus one reaper
  period (~75 s by default), however long the model may take.
"""

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.broker import broker_queue_length
from labelhub.core.exceptions import ApplicationError, Conflict, NotFound
from labelhub.core.heartbeat import heartbeat
from labelhub.core.text import unstorable_reason
from labelhub.integrations.inference.client import chat_completion
from labelhub.integrations.inference.errors import (
    ErrorKind,
    InferenceError,
    PermanentInferenceError,
    TransientInferenceError,
    classified,
    describe,
)
from labelhub.integrations.inference.types import SamplingParams
from labelhub.integrations.inference.urls import UnsafeURLError, check_base_url
from labelhub.projects.models import Project
from labelhub.prompts.models import Candidate, CandidateSource

from .models import BatchMode, CheckStatus, GenerationBatch, GenerationJob, JobStatus, ModelConfig
from .selectors import PLAN_CHUNK, BatchTarget, batch_target_preview, batch_target_rows

logger = logging.getLogger(__name__)

CONFIG_FIELDS = (
    "name", "base_url", "model", "api_key", "temperature", "top_p", "max_tokens", "seed", "stop",
    "system_prompt", "candidates_per_prompt", "is_active",
)  # fmt: skip
# A queued job that was sent this long ago while the broker queue is empty was lost by the broker.
LOST_AFTER = timedelta(seconds=60)
# The heartbeat renews a running job's lease this often (a third of the lease: two missed beats are fine).
LEASE_RENEW_FRACTION = 3
# A connection check still "running" after this was lost (worker killed, never picked up): the
# reaper marks it failed. Well past the check task's hard time limit (tasks.py: 90 s).
CHECK_STUCK_AFTER = timedelta(minutes=5)


# --- model configs -------------------------------------------------------------------------------


def _clean_config(data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    out = dict(data)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"] or len(out["name"]) > 100:
            errors["name"] = ["1 to 100 characters."]
    if "base_url" in out:
        try:
            out["base_url"] = check_base_url(out["base_url"])
        except UnsafeURLError as exc:
            errors["base_url"] = [str(exc)]
    if "model" in out:
        out["model"] = (out["model"] or "").strip()
        if not out["model"] or len(out["model"]) > 200:
            errors["model"] = ["1 to 200 characters."]
    if "stop" in out:
        stop = out["stop"] or []
        if not isinstance(stop, list) or len(stop) > 4 or any(not isinstance(s, str) or not s for s in stop):
            errors["stop"] = ["At most 4 non-empty strings."]
    for field, low, high in (("temperature", 0, 2), ("top_p", 0.0001, 1)):
        if field in out and not (isinstance(out[field], (int, float)) and low <= out[field] <= high):
            errors[field] = [f"A number from {low} to {high}."]
    for field, low, high in (("max_tokens", 1, 32768), ("candidates_per_prompt", 1, 9)):
        value = out.get(field, low)
        if field in out and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            errors[field] = [f"An integer from {low} to {high}."]
    for field in ("system_prompt", "api_key", "name", "model"):
        reason = unstorable_reason(out[field]) if isinstance(out.get(field), str) else None
        if reason:
            errors[field] = [f"It {reason}."]
    if errors:
        raise ApplicationError("Invalid model config.", extra={"fields": errors})
    return out


def model_config_create(*, project: Project, data: dict) -> ModelConfig:
    unknown = set(data) - set(CONFIG_FIELDS)
    if unknown:
        raise ApplicationError("Unknown fields.", extra={"unknown": sorted(unknown), "allowed": list(CONFIG_FIELDS)})
    for required in ("name", "base_url", "model"):
        if required not in data:
            raise ApplicationError(f"{required} is required.", extra={"fields": {required: ["Required."]}})
    data = _clean_config(data)
    try:
        with transaction.atomic():
            return ModelConfig.objects.create(project=project, **data)
    except IntegrityError as exc:
        raise Conflict(f"A model config named {data['name']!r} already exists in this project.") from exc


def model_config_update(*, config: ModelConfig, data: dict) -> ModelConfig:
    unknown = set(data) - set(CONFIG_FIELDS)
    if unknown:
        raise ApplicationError("Unknown fields.", extra={"unknown": sorted(unknown), "allowed": list(CONFIG_FIELDS)})
    data = _clean_config(data)
    if data.get("api_key") == "":
        data.pop("api_key")  # blank means "keep the current key"; clearing is explicit (clear_api_key)
    for field, value in data.items():
        setattr(config, field, value)
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError as exc:
        raise Conflict(f"A model config named {config.name!r} already exists in this project.") from exc
    return config


def model_config_clear_api_key(*, config: ModelConfig) -> ModelConfig:
    config.api_key = ""
    config.save(update_fields=["api_key", "updated_at"])
    return config


def model_config_delete(*, config: ModelConfig) -> bool:
    """Delete a config nobody used yet; a used one is deactivated (its candidates keep their provenance).
    Returns True when deleted."""
    if GenerationJob.objects.filter(model_config=config).exists():
        config.is_active = False
        config.save(update_fields=["is_active", "updated_at"])
        return False
    config.delete()
    return True


def model_config_check_start(*, config: ModelConfig) -> ModelConfig:
    """Ask a worker to run a real 1-token completion against the config's server."""
    from .tasks import model_config_check_task

    ModelConfig.objects.filter(pk=config.pk).update(
        last_check_status=CheckStatus.RUNNING, last_check_error={}, last_check_at=timezone.now()
    )
    config_id = config.pk

    def send():
        try:
            model_config_check_task.apply_async(kwargs={"config_id": config_id})  # the `fast` queue
        except Exception as exc:  # noqa: BLE001 - any broker failure
            logger.error("could not enqueue connection check for config %s: %s", config_id, type(exc).__name__)
            ModelConfig.objects.filter(pk=config_id).update(
                last_check_status=CheckStatus.FAILED, last_check_error=classified(ErrorKind.QUEUE_UNREACHABLE)
            )

    transaction.on_commit(send)
    config.refresh_from_db()
    return config


def model_config_check_run(*, config_id: int) -> ModelConfig:
    """Run the check and store its outcome. Whatever happens (an unexpected exception, the soft
    time limit), the check ends "ok" or "failed", never left "running"."""
    config = ModelConfig.objects.get(pk=config_id)
    try:
        completion = chat_completion(
            base_url=config.base_url,
            model=config.model,
            messages=[{"role": "user", "content": "Say OK."}],
            params=SamplingParams(temperature=0.0, top_p=1.0, max_tokens=1),
            api_key=config.api_key,
            timeout_s=30,
        )
    except InferenceError as exc:
        _check_failed(config_id, exc.error)
    except SoftTimeLimitExceeded:
        _check_failed(config_id, classified(ErrorKind.TIMEOUT, reason="the check's time limit"))
    except BaseException:
        logger.exception("connection check of model config %s failed unexpectedly", config_id)
        _check_failed(config_id, classified(ErrorKind.INTERNAL))
        raise
    else:
        ModelConfig.objects.filter(pk=config_id).update(
            last_check_status=CheckStatus.OK,
            last_check_error={},
            last_check_latency_ms=completion.latency_ms,
            last_check_model=completion.model,
            last_check_at=timezone.now(),
        )
    return ModelConfig.objects.get(pk=config_id)


def _check_failed(config_id: int, error: dict) -> None:
    ModelConfig.objects.filter(pk=config_id).update(
        last_check_status=CheckStatus.FAILED, last_check_error=error, last_check_at=timezone.now()
    )


def model_config_checks_reap() -> int:
    """Fail connection checks "running" for longer than any check can (worker killed, message lost)."""
    return ModelConfig.objects.filter(
        last_check_status=CheckStatus.RUNNING, last_check_at__lt=timezone.now() - CHECK_STUCK_AFTER
    ).update(last_check_status=CheckStatus.FAILED, last_check_error=classified(ErrorKind.STUCK))


# --- batches -------------------------------------------------------------------------------------


@transaction.atomic
def generation_batch_create(
    *,
    project: Project,
    user: User,
    config: ModelConfig,
    prompt_ids: list[int] | None = None,
    fewer_than: int | None = None,
    target: BatchTarget | None = None,
) -> GenerationBatch:
    """Create the jobs of a batch and send them to the workers once committed.

    `target` (selectors.BatchTarget) says which prompts and how many samples; `prompt_ids` /
    `fewer_than` alone are the short forms (those prompts, the config's N samples each / every prompt
    topped up to K). The prompts are read and the jobs written in chunks: a large target never becomes
    one list in memory."""
    if target is None:
        target = BatchTarget(prompt_ids=tuple(prompt_ids) if prompt_ids is not None else None, fewer_than=fewer_than)
    elif prompt_ids is not None or fewer_than is not None:
        raise ApplicationError('Give either a target or "prompt_ids" / "fewer_than".')
    if config.project_id != project.pk:
        raise NotFound("Model config not found.")
    if not config.is_active:
        raise ApplicationError("This model config is deactivated.")
    # Serialise batch creation per config, so sample indexes never collide.
    ModelConfig.objects.select_for_update().filter(pk=config.pk).first()
    preview = batch_target_preview(project=project, config=config, target=target)
    if preview.samples == 0:
        raise ApplicationError(
            "Nothing to generate: every prompt already has enough candidates."
            if preview.prompts or target.fewer_than is not None
            else "Nothing to generate: no prompt matches this target."
        )
    if preview.samples > settings.GENERATION_MAX_JOBS_PER_BATCH:
        raise ApplicationError(
            f"That is {preview.samples} samples; a batch holds at most {settings.GENERATION_MAX_JOBS_PER_BATCH}."
        )
    mode = BatchMode.FEWER_THAN if target.fewer_than is not None else BatchMode.PROMPTS
    batch = GenerationBatch.objects.create(
        project=project, model_config=config, created_by=user, mode=mode, target_k=target.fewer_than, job_count=0
    )
    total = 0
    rows = batch_target_rows(project=project, config=config, target=target)
    while chunk := list(islice(rows, PLAN_CHUNK)):
        total += _batch_jobs_create(batch=batch, config=config, plan=chunk)
    GenerationBatch.objects.filter(pk=batch.pk).update(job_count=total)
    batch.job_count = total
    project_id = project.pk
    transaction.on_commit(lambda: generation_feed(project_ids=[project_id]))
    return batch


def _batch_jobs_create(*, batch: GenerationBatch, config: ModelConfig, plan: list[tuple[int, int]]) -> int:
    """The jobs of one chunk of (prompt id, samples): sample indexes continue each prompt's."""
    next_index = dict(
        GenerationJob.objects.filter(model_config=config, prompt_id__in=[pid for pid, _ in plan])
        .values("prompt_id")
        .annotate(m=Max("sample_index") + 1)
        .values_list("prompt_id", "m")
    )
    jobs = [
        GenerationJob(
            batch=batch,
            project_id=batch.project_id,
            prompt_id=pid,
            model_config=config,
            sample_index=next_index.get(pid, 0) + k,
            task_id=str(uuid.uuid4()),
        )
        for pid, n in plan
        for k in range(n)
    ]
    GenerationJob.objects.bulk_create(jobs, batch_size=2000)
    return len(jobs)


# --- the feeder (fair share between projects) ----------------------------------------------------


def _backlog() -> Q:
    """Jobs waiting in PostgreSQL for the feeder."""
    return Q(status=JobStatus.QUEUED, dispatched_at__isnull=True)


def _in_flight() -> Q:
    """Jobs sent to the broker and not finished: waiting in the queue, running, or backing off to retry."""
    return Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], dispatched_at__isnull=False)


def generation_feed(*, project_ids=None) -> int:
    """Send each project's oldest waiting jobs to the `inference` queue, topping it up to
    GENERATION_MAX_IN_FLIGHT_PER_PROJECT jobs in flight. Every project with a backlog when
    project_ids is None. Called after commit, never inside a transaction: by batch creation and
    retries, by a job as it finishes (its project only) and by the reaper every 30 s.

    Jobs are reserved (dispatched_at set) in a short transaction under the project's row lock, then
    sent; a broker failure un-reserves the unsent ones, which the reaper sends later."""
    if project_ids is None:
        waiting = GenerationJob.objects.filter(_backlog(), project_id=OuterRef("pk"))
        project_ids = Project.objects.filter(Exists(waiting)).order_by("pk").values_list("pk", flat=True)
    sent = 0
    for project_id in list(project_ids):
        reserved = _feed_reserve(project_id=project_id)
        count = _feed_send(reserved)
        sent += count
        if count < len(reserved):
            break  # the broker is down: leave the other projects to the reaper
    return sent


@transaction.atomic
def _feed_reserve(*, project_id: int) -> list[GenerationJob]:
    # FOR NO KEY UPDATE: serialises feeders of one project without blocking inserts that reference it.
    if not list(Project.objects.select_for_update(no_key=True).filter(pk=project_id).values_list("pk", flat=True)):
        return []
    room = settings.GENERATION_MAX_IN_FLIGHT_PER_PROJECT
    room -= GenerationJob.objects.filter(_in_flight(), project_id=project_id).count()
    if room <= 0:
        return []
    jobs = list(
        GenerationJob.objects.filter(_backlog(), project_id=project_id)
        .select_related("model_config")
        .only("id", "task_id", "model_config__max_tokens")
        .order_by("id")[:room]
    )
    if jobs:
        GenerationJob.objects.filter(pk__in=[j.pk for j in jobs]).update(dispatched_at=timezone.now())
    return jobs


def _feed_send(jobs: list[GenerationJob]) -> int:
    from .tasks import generate_candidate_task

    for i, job in enumerate(jobs):
        limit = job.model_config.timeout_seconds
        try:
            generate_candidate_task.apply_async(
                kwargs={"job_id": job.pk}, task_id=job.task_id, soft_time_limit=limit + 30, time_limit=limit + 60
            )
        except Exception as exc:  # noqa: BLE001 - any broker failure: the reaper sends them later
            logger.warning("broker unavailable while sending generation jobs (%s); the reaper will resend", exc)
            for unsent in jobs[i:]:
                GenerationJob.objects.filter(pk=unsent.pk, task_id=unsent.task_id, status=JobStatus.QUEUED).update(
                    dispatched_at=None
                )
            return i
    return len(jobs)


def generation_feed_after_job(*, job_id: int) -> int:
    """A job finished (done or failed): its project has room for the next one."""
    project_id = GenerationJob.objects.filter(pk=job_id).values_list("project_id", flat=True).first()
    return generation_feed(project_ids=[project_id]) if project_id else 0


# --- running one job -----------------------------------------------------------------------------


@dataclass(frozen=True)
class JobOutcome:
    status: str
    retry_in: float | None = None


def _backoff(attempt: int, retry_after: float | None) -> float:
    base = min(300.0, 5.0 * 2 ** max(0, attempt - 1))
    delay = base * random.uniform(0.5, 1.5)  # jitter: retries of one outage do not arrive together
    return max(delay, retry_after or 0.0)


def _conversation(job: GenerationJob) -> list[dict]:
    messages = [{"role": m["role"], "content": m["content"]} for m in job.prompt.messages]
    system = job.model_config.system_prompt.strip()
    if system and not (messages and messages[0]["role"] == "system"):
        messages.insert(0, {"role": "system", "content": system})
    return messages


def generation_job_run(*, job_id: int, task_id: str) -> JobOutcome:
    """Run one job under the Celery task id allowed to run it. Safe to call twice."""
    now = timezone.now()
    job = GenerationJob.objects.select_related("model_config").filter(pk=job_id).first()
    if job is None:
        return JobOutcome("missing")
    claimed = GenerationJob.objects.filter(
        pk=job_id, task_id=task_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).update(status=JobStatus.RUNNING, attempts=F("attempts") + 1, lease_expires_at=now + _lease(), started_at=now)
    if not claimed:
        return JobOutcome("skipped")
    job = GenerationJob.objects.select_related("model_config", "prompt").get(pk=job_id)
    if Candidate.objects.filter(generation_job=job).exists():
        _finish(job, task_id, JobStatus.DONE)
        return JobOutcome(JobStatus.DONE)
    config = job.model_config
    try:
        with _lease_heartbeat(job_id=job.pk, task_id=task_id):
            completion = chat_completion(
                base_url=config.base_url,
                model=config.model,
                messages=_conversation(job),
                params=SamplingParams(
                    temperature=config.temperature,
                    top_p=config.top_p,
                    max_tokens=config.max_tokens,
                    seed=config.seed,
                    stop=list(config.stop or []),
                ),
                api_key=config.api_key,
                timeout_s=config.timeout_seconds,
            )
    except TransientInferenceError as exc:
        return _transient(job, task_id, exc.message, exc.retry_after)
    except PermanentInferenceError as exc:
        _finish(job, task_id, JobStatus.FAILED, exc.message)
        return JobOutcome(JobStatus.FAILED)
    except (SoftTimeLimitExceeded, DatabaseError):
        raise  # the task counts the time limit; a database outage leaves the lease to the reaper
    except Exception:
        logger.exception("generation job %s failed unexpectedly", job.pk)
        _finish(job, task_id, JobStatus.FAILED, describe(classified(ErrorKind.INTERNAL)))
        return JobOutcome(JobStatus.FAILED)
    try:
        with transaction.atomic():
            Candidate.objects.create(
                prompt=job.prompt,
                content=completion.content,
                source=CandidateSource.GENERATED,
                model_name=completion.model or config.model,
                generation_job=job,
                model_config=config,
                finish_reason=completion.finish_reason,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                latency_ms=completion.latency_ms,
                raw_escaped=completion.raw_escaped or "",
                provenance={
                    "source": "generated",
                    "config_id": config.pk,
                    "config_name": config.name,
                    "model_requested": config.model,
                    "model_reported": completion.model,
                    "sampling": config.sampling_snapshot(),
                    "system_prompt": config.system_prompt,
                    "sample_index": job.sample_index,
                    "job_id": job.pk,
                    "attempt": job.attempts,
                    "generated_at": timezone.now().isoformat(),
                    **({"sanitized": completion.sanitized} if completion.sanitized else {}),
                },
            )
            _finish(job, task_id, JobStatus.DONE)
    except IntegrityError:
        # Another run of this job stored its candidate first: nothing to add.
        _finish(job, task_id, JobStatus.DONE)
    return JobOutcome(JobStatus.DONE)


def _lease() -> timedelta:
    return timedelta(seconds=settings.GENERATION_LEASE_SECONDS)


def _lease_heartbeat(*, job_id: int, task_id: str):
    """Renew the job's lease while the model answers. The renewal is a compare-and-set on the task
    id: once the reaper has handed the job to another task, this run can no longer extend it."""

    def renew() -> None:
        GenerationJob.objects.filter(pk=job_id, task_id=task_id, status=JobStatus.RUNNING).update(
            lease_expires_at=timezone.now() + _lease()
        )

    return heartbeat(settings.GENERATION_LEASE_SECONDS / LEASE_RENEW_FRACTION, renew, name=f"generation-job-{job_id}")


def _finish(job: GenerationJob, task_id: str, status: str, error: str = "") -> None:
    GenerationJob.objects.filter(pk=job.pk, task_id=task_id).exclude(status=JobStatus.DONE).update(
        status=status, error=error, finished_at=timezone.now(), lease_expires_at=None
    )


def _transient(job: GenerationJob, task_id: str, message: str, retry_after: float | None) -> JobOutcome:
    if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
        _finish(job, task_id, JobStatus.FAILED, f"Gave up after {job.attempts} attempts. Last error: {message}")
        return JobOutcome(JobStatus.FAILED)
    delay = _backoff(job.attempts, retry_after)
    # Shown as "retrying" (queued with attempts > 0). dispatched_at is when the retry comes due, so
    # the reaper does not take a job backing off (its message held by the worker) for a lost one.
    GenerationJob.objects.filter(pk=job.pk, task_id=task_id, status=JobStatus.RUNNING).update(
        status=JobStatus.QUEUED,
        error=f"Attempt {job.attempts} failed, retrying: {message}",
        lease_expires_at=None,
        dispatched_at=timezone.now() + timedelta(seconds=delay),
    )
    return JobOutcome(JobStatus.QUEUED, retry_in=delay)


def generation_job_timed_out(*, job_id: int, task_id: str) -> JobOutcome:
    """The task hit its soft time limit: count it as a transient failure."""
    job = GenerationJob.objects.filter(pk=job_id, task_id=task_id).first()
    if job is None or job.status != JobStatus.RUNNING:
        return JobOutcome("skipped")
    return _transient(job, task_id, "The completion took longer than the time limit.", None)


def generation_job_retry(*, job: GenerationJob) -> GenerationJob:
    """Send a failed job again (a new task id: any old message for it becomes a no-op)."""
    updated = GenerationJob.objects.filter(pk=job.pk, status=JobStatus.FAILED).update(
        status=JobStatus.QUEUED, attempts=0, error="", task_id=str(uuid.uuid4()), dispatched_at=None, finished_at=None
    )
    if not updated:
        raise Conflict("Only failed jobs can be retried.")
    project_id = job.project_id
    transaction.on_commit(lambda: generation_feed(project_ids=[project_id]))
    job.refresh_from_db()
    return job


def generation_batch_retry_failed(*, batch: GenerationBatch) -> int:
    ids = list(GenerationJob.objects.filter(batch=batch, status=JobStatus.FAILED).values_list("pk", flat=True))
    for pk in ids:  # each job gets its own new task id
        GenerationJob.objects.filter(pk=pk, status=JobStatus.FAILED).update(
            status=JobStatus.QUEUED,
            attempts=0,
            error="",
            task_id=str(uuid.uuid4()),
            dispatched_at=None,
            finished_at=None,
        )
    if ids:
        project_id = batch.project_id
        transaction.on_commit(lambda: generation_feed(project_ids=[project_id]))
    return len(ids)


# --- the reaper ----------------------------------------------------------------------------------


def _inference_queue_length() -> int | None:
    return broker_queue_length("inference")


def generation_reap() -> dict:
    """Re-send what was lost. Runs every 30 s (Celery beat) and by `manage.py generation_reaper`.

    - RUNNING jobs whose lease expired (worker killed): back to QUEUED with a new task id;
    - QUEUED jobs sent a while ago while the broker's queue is empty (Redis lost its queue);
    - connection checks "running" for longer than any check can: failed (model_config_checks_reap);
    then feeds every project with waiting jobs (never sent: broker down at commit; or sent back above)."""
    now = timezone.now()
    expired = GenerationJob.objects.filter(status=JobStatus.RUNNING, lease_expires_at__lt=now)
    orphaned = 0
    for job in expired.only("id", "attempts", "task_id")[:5000]:
        if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
            orphaned += GenerationJob.objects.filter(pk=job.pk, task_id=job.task_id, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED,
                error=f"The worker was lost {job.attempts} times while running this job.",
                finished_at=now,
            )
            continue
        orphaned += GenerationJob.objects.filter(pk=job.pk, task_id=job.task_id, status=JobStatus.RUNNING).update(
            status=JobStatus.QUEUED,
            task_id=str(uuid.uuid4()),
            dispatched_at=None,
            lease_expires_at=None,
            error="The worker was lost while running this job; sent again.",
        )
    lost = 0
    stale = GenerationJob.objects.filter(status=JobStatus.QUEUED, dispatched_at__lt=now - LOST_AFTER)
    if stale.exists() and _inference_queue_length() == 0:
        for job in stale.only("id", "task_id")[:5000]:
            lost += GenerationJob.objects.filter(pk=job.pk, task_id=job.task_id, status=JobStatus.QUEUED).update(
                task_id=str(uuid.uuid4()), dispatched_at=None
            )
    sent = generation_feed()
    return {"orphaned": orphaned, "lost": lost, "sent": sent, "checks_failed": model_config_checks_reap()}
