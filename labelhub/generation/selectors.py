from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError, NotFound
from labelhub.core.ids import id_or_404
from labelhub.core.pagination import keyset_page
from labelhub.projects.models import Project
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_object_access
from labelhub.prompts.models import Candidate, Prompt
from labelhub.prompts.selectors import prompt_list

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


# --- what a batch targets ---------------------------------------------------------------------------

PLAN_CHUNK = 2000  # prompts read per round trip while a batch is planned (the id list is never built whole)


@dataclass(frozen=True)
class BatchTarget:
    """Which prompts a batch generates for, and how many samples each.

    `prompt_ids`: those prompts (nothing else may be given). Otherwise the project's prompts narrowed by
    `tag`, `track` and `search` (the prompt list's own filters, `prompts.selectors.prompt_list`), or all of
    them with `all_prompts`. `fewer_than=K` tops each up to K candidates (queued and running samples
    count); without it each gets `samples` samples, by default the config's candidates_per_prompt."""

    prompt_ids: tuple[int, ...] | None = None
    fewer_than: int | None = None
    tag: str = ""
    track: str = ""
    search: str = ""
    all_prompts: bool = False
    samples: int | None = None  # per prompt, instead of the config's candidates_per_prompt (evaluation runs: 1)

    @property
    def filters(self) -> dict:
        return {"tag": self.tag.strip(), "track": self.track.strip(), "q": self.search.strip()}

    def problem(self) -> str | None:
        """Why this target is not a valid one, in words for the form and the API; None if it is."""
        narrowed = any(self.filters.values())
        if self.fewer_than is not None and (
            isinstance(self.fewer_than, bool) or not isinstance(self.fewer_than, int) or not 1 <= self.fewer_than <= 9
        ):
            return "fewer_than must be an integer from 1 to 9."
        if self.prompt_ids is not None:
            if self.fewer_than is not None or narrowed or self.all_prompts:
                return '"prompt_ids" cannot be combined with other targets.'
            return None if self.prompt_ids else "prompt_ids is empty."
        if self.all_prompts and narrowed:
            return '"all_prompts" cannot be combined with tag, track or search.'
        if not (self.all_prompts or narrowed or self.fewer_than is not None):
            return 'Give a target: "prompt_ids", "fewer_than", a tag, track or search, or "all_prompts".'
        return None


def _target_prompts(*, project: Project, target: BatchTarget):
    qs = Prompt.objects.filter(project=project)
    if any(target.filters.values()):
        qs = qs.filter(pk__in=prompt_list(project=project, **target.filters).order_by().values("pk"))
    return qs


def batch_target_rows(*, project: Project, config: ModelConfig, target: BatchTarget):
    """(prompt id, samples) for every prompt the target reaches, in id order, streamed from the database
    PLAN_CHUNK rows at a time. Prompts that need nothing are left out."""
    if target.prompt_ids is not None:
        wanted = list(dict.fromkeys(target.prompt_ids))
        found = set(Prompt.objects.filter(project=project, pk__in=wanted).values_list("pk", flat=True))
        missing = [pid for pid in wanted if pid not in found]
        if missing:
            raise ApplicationError("Unknown prompt ids.", extra={"unknown_prompt_ids": missing[:100]})
        return ((pid, target.samples or config.candidates_per_prompt) for pid in wanted)
    qs = _target_prompts(project=project, target=target).order_by("pk")
    if target.fewer_than is None:
        n = target.samples or config.candidates_per_prompt
        return ((pid, n) for pid in qs.values_list("pk", flat=True).iterator(chunk_size=PLAN_CHUNK))
    k = target.fewer_than
    # Candidates plus samples already queued or running, so a second batch does not pile on.
    rows = (
        qs.annotate(
            have=Count("candidates", distinct=True)
            + Count(
                "generation_jobs",
                filter=Q(generation_jobs__status__in=[JobStatus.QUEUED, JobStatus.RUNNING]),
                distinct=True,
            )
        )
        .filter(have__lt=k)
        .values_list("pk", "have")
    )
    return ((pid, k - have) for pid, have in rows.iterator(chunk_size=PLAN_CHUNK))


@dataclass(frozen=True)
class BatchPreview:
    prompts: int
    samples: int


def batch_target_preview(*, project: Project, config: ModelConfig, target: BatchTarget) -> BatchPreview:
    """How many prompts a target reaches and how many samples it would queue (nothing is written)."""
    problem = target.problem()
    if problem:
        raise ApplicationError(problem)
    if target.prompt_ids is None and target.fewer_than is None:
        prompts = _target_prompts(project=project, target=target).count()
        return BatchPreview(prompts=prompts, samples=prompts * (target.samples or config.candidates_per_prompt))
    prompts = samples = 0
    for _pid, n in batch_target_rows(project=project, config=config, target=target):
        prompts, samples = prompts + 1, samples + n
    return BatchPreview(prompts=prompts, samples=samples)
