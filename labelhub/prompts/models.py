from django.conf import settings
from django.db import models

from labelhub.core.models import BaseModel
from labelhub.projects.models import Project


class MessageRole(models.TextChoices):
    SYSTEM = "system", "System"
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"


class Prompt(BaseModel):
    """A conversation to answer: a list of {role, content} messages whose last one is from the user."""

    # Indexed through the composite indexes and constraints below, which all start with project.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts", db_index=False)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    messages = models.JSONField()
    # The last user message, denormalised for lists and search (the conversation stays in `messages`).
    text = models.TextField()
    tags = models.JSONField(default=list, blank=True)
    track = models.CharField(max_length=40, default="helpful")  # a track of the project's labeling schema
    metadata = models.JSONField(default=dict, blank=True)
    # In an evaluation set: left out of training work and of training exports (the evaluation app keeps
    # it true exactly while some set holds the prompt; exports read it with the prompt they already join).
    held_out = models.BooleanField(default=False, db_default=False)
    content_hash = models.CharField(max_length=64)
    # Audit pointers: no index (only read per prompt) and no database FK constraint (Django applies
    # SET_NULL itself); PostgreSQL checks deferred FKs row by row at commit, which was a third of the
    # time of a 100k-line import.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    source_import = models.ForeignKey(
        "PromptImport",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="prompts",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="prompt_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["project", "content_hash"],
                condition=models.Q(external_id__isnull=True),
                name="prompt_unique_hash_without_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "id"], name="prompt_project_id"),
            models.Index(fields=["project", "track", "id"], name="prompt_project_track"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"prompt {self.pk}"


class ProjectTag(models.Model):
    """The distinct tags used in a project (for filter menus). Prompt tags themselves live in
    Prompt.tags; on PostgreSQL a GIN index on it serves tag filters (migration 0002)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["project_id", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="project_tag_unique")]

    def __str__(self) -> str:
        return self.name


class CandidateSource(models.TextChoices):
    IMPORTED = "imported", "Imported"
    GENERATED = "generated", "Generated"
    REFERENCE = "reference", "Reference answer"  # an evaluation set's reference, the baseline of a run


class Candidate(BaseModel):
    """A candidate assistant answer to a prompt, with where it came from."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="candidates")
    content = models.TextField()
    source = models.CharField(max_length=16, choices=CandidateSource.choices)
    model_name = models.CharField(max_length=200, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    # Generated candidates: the job that produced it (unique: a re-delivered job adds nothing),
    # the config and what the server reported.
    generation_job = models.OneToOneField(
        "generation.GenerationJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="candidate"
    )
    model_config = models.ForeignKey(
        "generation.ModelConfig", on_delete=models.SET_NULL, null=True, blank=True, related_name="candidates"
    )
    finish_reason = models.CharField(max_length=32, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    # When the raw output held NUL or lone surrogates: the exact text as a JSON string literal.
    raw_escaped = models.TextField(blank=True)

    class Meta:
        ordering = ["prompt_id", "id"]

    def __str__(self) -> str:
        return f"candidate {self.pk} ({self.source})"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    VALIDATING = "validating", "Validating"
    WRITING = "writing", "Writing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PromptImport(BaseModel):
    """One upload of a prompt file, its progress and its outcome."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompt_imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    filename = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8)  # jsonl | csv
    file_path = models.CharField(max_length=500, blank=True)  # spooled upload, deleted when done
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    total_lines = models.PositiveIntegerField(default=0)
    processed_lines = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    candidate_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.filename}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_lines:
            return 0
        return min(99, int(100 * self.processed_lines / self.total_lines))
