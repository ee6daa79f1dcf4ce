import uuid

from django.conf import settings
from django.db import models

from labelhub.core.models import BaseModel
from labelhub.projects.models import Project


class SnapshotStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExportSnapshot(BaseModel):
    """A frozen export: written once by a worker, never changed after. The file lives under
    MEDIA_ROOT/exports/<project id>/<file_name> (a server-chosen name, never a client path), set only
    when the snapshot is done."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="export_snapshots")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=16)
    format = models.CharField(max_length=32)
    params = models.JSONField(default=dict, help_text="The options, normalised (as a query string would give them).")
    status = models.CharField(max_length=16, choices=SnapshotStatus.choices, default=SnapshotStatus.QUEUED)
    task_id = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the job last reached the broker.")
    file_name = models.CharField(max_length=100, blank=True)
    rows = models.PositiveBigIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "-id"], name="snapshot_project_recent")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="done")
                | (models.Q(sha256__regex=r"^[0-9a-f]{64}$") & ~models.Q(file_name="")),
                name="snapshot_done_has_file_and_digest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} snapshot {self.pk} ({self.status})"

    @property
    def relative_path(self) -> str:
        return f"exports/{self.project_id}/{self.file_name}" if self.file_name else ""

    @property
    def filename(self) -> str:
        return f"labelhub-project{self.project_id}-{self.kind}-{self.format}-snapshot{self.pk}.jsonl"

    @property
    def is_finished(self) -> bool:
        return self.status in (SnapshotStatus.DONE, SnapshotStatus.FAILED)
