from django.conf import settings
from django.db import models

from labelhub.core.crypto import EncryptedTextField
from labelhub.core.models import BaseModel
from labelhub.projects.models import Project

# Below this speed a completion is considered stuck; time limits are sized from max_tokens with it.
MIN_TOKENS_PER_SECOND = 5
BASE_SECONDS = 30
# Kept below the broker visibility timeout (settings.CELERY_BROKER_TRANSPORT_OPTIONS).
MAX_SECONDS = 1800


class CheckStatus(models.TextChoices):
    NEVER = "", "Never checked"
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    FAILED = "failed", "Failed"


class ModelConfig(BaseModel):
    """One way of asking one model for candidates: server, model id and sampling parameters."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_configs")
    name = models.CharField(max_length=100)
    base_url = models.CharField(max_length=500, help_text="OpenAI-compatible base URL, e.g. http://host:8000/v1")
    model = models.CharField(max_length=200, help_text="The model id sent to the server.")
    # Write-only: never rendered, serialized or logged; encrypted at rest (core/crypto.py).
    api_key = EncryptedTextField(blank=True)
    temperature = models.FloatField(default=0.7)
    top_p = models.FloatField(default=1.0)
    max_tokens = models.PositiveIntegerField(default=256)
    seed = models.BigIntegerField(null=True, blank=True)
    stop = models.JSONField(default=list, blank=True)
    system_prompt = models.TextField(blank=True)
    candidates_per_prompt = models.PositiveSmallIntegerField(default=2)
    is_active = models.BooleanField(default=True)
    last_check_status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.NEVER, blank=True
    )
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_check_model = models.CharField(max_length=200, blank=True)
    # A classified failure, {"kind", "status"?, "reason"?} (integrations.inference.errors): never
    # what the server replied, which goes to the server log only.
    last_check_error = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["project_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="model_config_unique_name"),
            models.CheckConstraint(
                condition=models.Q(temperature__gte=0, temperature__lte=2), name="model_config_temperature_range"
            ),
            models.CheckConstraint(condition=models.Q(top_p__gt=0, top_p__lte=1), name="model_config_top_p_range"),
            models.CheckConstraint(
                condition=models.Q(max_tokens__gte=1, max_tokens__lte=32768), name="model_config_max_tokens_range"
            ),
            models.CheckConstraint(
                condition=models.Q(candidates_per_prompt__gte=1, candidates_per_prompt__lte=9),
                name="model_config_candidates_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def timeout_seconds(self) -> int:
        """How long one completion may take before it counts as stuck."""
        return min(MAX_SECONDS, BASE_SECONDS + self.max_tokens // MIN_TOKENS_PER_SECOND)

    def sampling_snapshot(self) -> dict:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "stop": list(self.stop or []),
        }


class BatchMode(models.TextChoices):
    PROMPTS = "prompts", "Chosen prompts"
    FEWER_THAN = "fewer_than", "Prompts with fewer than K candidates"


class GenerationBatch(BaseModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generation_batches")
    model_config = models.ForeignKey(ModelConfig, on_delete=models.PROTECT, related_name="batches")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    mode = models.CharField(max_length=16, choices=BatchMode.choices)
    target_k = models.PositiveSmallIntegerField(null=True, blank=True)
    job_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"batch {self.pk}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


# Shown, not stored: a queued job that already ran and failed, waiting for its next attempt (or
# sent again after its worker was lost). Pages and the API count it apart from never-run jobs.
RETRYING = "retrying"
DISPLAY_STATUSES = (JobStatus.QUEUED.value, RETRYING, *(s for s in JobStatus.values if s != JobStatus.QUEUED))


def display_status_filter(status: str) -> models.Q:
    """The rows a shown status stands for (queued: never run yet; retrying: queued after a failure)."""
    if status == JobStatus.QUEUED:
        return models.Q(status=JobStatus.QUEUED, attempts=0)
    if status == RETRYING:
        return models.Q(status=JobStatus.QUEUED, attempts__gt=0)
    return models.Q(status=status)


class GenerationJob(BaseModel):
    """One sample: (prompt, config, sample index) is unique, so a slot is generated at most once.

    `task_id` names the one Celery message allowed to run the job; a re-dispatch gives a new id,
    which turns any older message for the job into a no-op."""

    batch = models.ForeignKey(GenerationBatch, on_delete=models.CASCADE, related_name="jobs", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    prompt = models.ForeignKey("prompts.Prompt", on_delete=models.CASCADE, related_name="generation_jobs")
    model_config = models.ForeignKey(ModelConfig, on_delete=models.PROTECT, related_name="jobs", db_index=False)
    sample_index = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    task_id = models.CharField(max_length=36)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "model_config", "sample_index"], name="generation_job_unique_slot"
            ),
            models.CheckConstraint(condition=models.Q(status__in=JobStatus.values), name="generation_job_status_valid"),
        ]
        indexes = [
            models.Index(fields=["batch", "status"], name="generation_job_batch_status"),
            models.Index(fields=["status", "lease_expires_at"], name="generation_job_reaper"),
            # The feeder (services.generation_feed): each project's backlog in order, and what it has in flight.
            models.Index(
                fields=["project", "id"],
                condition=models.Q(status=JobStatus.QUEUED, dispatched_at__isnull=True),
                name="generation_job_backlog",
            ),
            models.Index(
                fields=["project"],
                condition=models.Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], dispatched_at__isnull=False),
                name="generation_job_in_flight",
            ),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"

    @property
    def display_status(self) -> str:
        return RETRYING if self.status == JobStatus.QUEUED and self.attempts else self.status
