from django.conf import settings
from django.db import models

from labelhub.core.models import BaseModel
from labelhub.projects.models import Project, Track


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
    track = models.CharField(max_length=16, choices=Track.choices, default=Track.HELPFUL)
    metadata = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64)
    # Not indexed: only read per prompt; deleting a user or an import (rare) scans.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    source_import = models.ForeignKey(
        "PromptImport", on_delete=models.SET_NULL, null=True, blank=True, related_name="prompts", db_index=False
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
            models.CheckConstraint(condition=models.Q(track__in=Track.values), name="prompt_track_valid"),
        ]
        indexes = [
            models.Index(fields=["project", "id"], name="prompt_project_id"),
            models.Index(fields=["project", "track", "id"], name="prompt_project_track"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"prompt {self.pk}"


class PromptTag(models.Model):
    """One row per (prompt, tag): an indexed join for tag filters on PostgreSQL and SQLite alike."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="tag_rows", db_index=False)
    name = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prompt", "name"], name="prompt_tag_unique")]
        indexes = [models.Index(fields=["project", "name", "prompt"], name="prompt_tag_lookup")]

    def __str__(self) -> str:
        return self.name


class CandidateSource(models.TextChoices):
    IMPORTED = "imported", "Imported"
    GENERATED = "generated", "Generated"


class Candidate(BaseModel):
    """A candidate assistant answer to a prompt, with where it came from."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="candidates")
    content = models.TextField()
    source = models.CharField(max_length=16, choices=CandidateSource.choices)
    model_name = models.CharField(max_length=200, blank=True)
    provenance = models.JSONField(default=dict, blank=True)

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
