from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.exceptions import NotFound
from labelhub.core.ids import id_or_404
from labelhub.core.pagination import keyset_page
from labelhub.projects.models import Project
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_object_access
from labelhub.prompts.models import Candidate

from .models import RETRYING, GenerationBatch, GenerationJob, JobStatus, ModelConfig, display_status_filter


def model_config_list(*, project: Project) -> QuerySet[ModelConfig]:
    return ModelConfig.objects.filter(project=project).order_by("-is_active", "name")


def model_config_get(*, project: Project, config_id) -> ModelConfig:
    config_id = id_or_404(config_id, label="Model config")
    config = ModelConfig.objects.filter(project=project, pk=config_id).first()
    if config is None:
        raise NotFound("Model config not found.")
    return config


def batch_list(*, project: Project, limit: int = 50) -> QuerySet[GenerationBatch]:
    return (
        GenerationBatch.objects.filter(project=project)
        .select_related("model_config", "created_by")
        .order_by("-id")[:limit]
    )


def batch_get_for_user(
    *, user: User, batch_id, capability: Capability = Capability.SEE_PROVENANCE
) -> tuple[GenerationBatch, str]:
    """A batch by id, if the user is a member of its project (404 otherwise, existence not leaked)
    whose role has `capability` (403 otherwise): a batch names its model config, so SEE_PROVENANCE
    at least."""
    batch, access = project_object_access(
        user=user,
        queryset=GenerationBatch.objects.select_related("model_config", "project"),
        object_id=batch_id,
        label="Batch",
        capability=capability,
    )
    return batch, access.role


def job_get_for_user(*, user: User, job_id, capability: Capability) -> GenerationJob:
    job, _access = project_object_access(
        user=user, queryset=GenerationJob.objects.all(), object_id=job_id, label="Job", capability=capability
    )
    return job


@dataclass(frozen=True)
class BatchProgress:
    total: int
    queued: int  # never run yet
    retrying: int  # failed at least once, waiting for the next attempt
    running: int
    done: int
    failed: int
    completion_tokens: int
    tokens_per_s: float | None
    eta_seconds: int | None
    started_at: datetime | None
    finished_at: datetime | None
    # Jobs that start before this batch's next one, while none of its jobs is running (else None):
    # older waiting jobs of its project, and every job already sent to the workers (fair share).
    waiting_behind: int | None = None

    @property
    def finished(self) -> bool:
        return self.queued == 0 and self.retrying == 0 and self.running == 0

    @property
    def percent(self) -> int:
        return int(100 * (self.done + self.failed) / self.total) if self.total else 100


def batch_progress(*, batch: GenerationBatch) -> BatchProgress:
    """Counts, throughput and ETA in two queries, whatever the batch size (two more while it waits)."""
    counts = GenerationJob.objects.filter(batch=batch).aggregate(
        total=Count("id"),
        queued=Count("id", filter=display_status_filter(JobStatus.QUEUED)),
        retrying=Count("id", filter=display_status_filter(RETRYING)),
        running=Count("id", filter=Q(status=JobStatus.RUNNING)),
        done=Count("id", filter=Q(status=JobStatus.DONE)),
        failed=Count("id", filter=Q(status=JobStatus.FAILED)),
        started=Min("started_at"),
        finished=Max("finished_at"),
    )
    tokens = Candidate.objects.filter(generation_job__batch=batch).aggregate(t=Sum("completion_tokens"))["t"] or 0
    started, last = counts["started"], counts["finished"]
    remaining = counts["queued"] + counts["retrying"] + counts["running"]
    finished = remaining == 0
    end = last if finished and last else timezone.now()
    elapsed = (end - started).total_seconds() if started else 0
    tps = tokens / elapsed if elapsed > 0 and tokens else None
    completed = counts["done"] + counts["failed"]
    eta = int(elapsed / completed * remaining) if completed and remaining and elapsed > 0 else None
    return BatchProgress(
        total=counts["total"],
        queued=counts["queued"],
        retrying=counts["retrying"],
        running=counts["running"],
        done=counts["done"],
        failed=counts["failed"],
        completion_tokens=tokens,
        tokens_per_s=round(tps, 1) if tps else None,
        eta_seconds=eta,
        started_at=started,
        finished_at=last if finished else None,
        waiting_behind=_waiting_behind(batch) if counts["queued"] and not counts["running"] else None,
    )


def _waiting_behind(batch: GenerationBatch) -> int | None:
    """None once the batch has a job with the workers; else how many jobs will start before its next
    one: its project's older waiting jobs (the feeder sends a project's jobs oldest first) and the
    jobs already sent to the workers, of every project."""
    mine = GenerationJob.objects.filter(batch=batch, status=JobStatus.QUEUED)
    first = mine.filter(dispatched_at__isnull=True).order_by("id").values_list("id", flat=True).first()
    if first is None or mine.filter(dispatched_at__isnull=False, attempts=0).exists():
        return None
    return GenerationJob.objects.filter(
        Q(project_id=batch.project_id, status=JobStatus.QUEUED, dispatched_at__isnull=True, id__lt=first)
        | Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], dispatched_at__isnull=False)
    ).count()


def batch_jobs(*, batch: GenerationBatch, status: str = "") -> QuerySet[GenerationJob]:
    """A batch's jobs; `status` is a shown status (models.DISPLAY_STATUSES: queued, retrying, ...)."""
    qs = GenerationJob.objects.filter(batch=batch).select_related("prompt").order_by("id")
    if status:
        qs = qs.filter(display_status_filter(status))
    return qs


def batch_candidates(*, batch: GenerationBatch, after=None, limit: int = 50) -> tuple[list[Candidate], int | None]:
    """One keyset page (oldest first) of the candidates a batch generated: ids > `after`.
    Returns (candidates, the `after` of the next page or None). Added for the batch page."""
    qs = Candidate.objects.filter(generation_job__batch=batch).select_related("prompt").order_by("id")
    return keyset_page(qs, cursor=after, size=limit, newest_first=False)
