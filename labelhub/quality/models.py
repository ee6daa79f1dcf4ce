from django.conf import settings
from django.db import models

from labelhub.core.models import BaseModel
from labelhub.projects.models import Project


class QualityAction(models.TextChoices):
    QUARANTINE = "quarantine", "Labeler quarantined"
    RELEASE = "release", "Quarantine lifted"
    GOLD_SET = "gold_set", "Item marked gold"
    GOLD_UNSET = "gold_unset", "Gold mark removed"
    OVERLAP_RAISED = "overlap_raised", "More labels asked for"
    ADJUDICATION_NEEDED = "adjudication_needed", "Sent to adjudication"
    ADJUDICATED = "adjudicated", "Adjudicated"


class QualityEvent(models.Model):
    """Who changed what about label quality, when and why. Append-only."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quality_events")
    action = models.CharField(max_length=32, choices=QualityAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # None: the system (adaptive overlap)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # the labeler concerned, if any
    work_item = models.ForeignKey(
        "labeling.WorkItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "-id"], name="quality_event_recent")]

    def __str__(self) -> str:
        return f"{self.action} in project {self.project_id}"


class GoldStandard(BaseModel):
    """The expected answer of a gold comparison item: pairs that must be ordered (better, worse),
    flags that must be ticked per candidate, answers to the schema's questions per candidate, and/or
    whether "all bad" is expected. Validated against the project's current schema when set; each label
    is checked with the schema of its own guideline version (services.gold_correct)."""

    work_item = models.OneToOneField("labeling.WorkItem", on_delete=models.CASCADE, related_name="gold")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    pairs = models.JSONField(default=list, blank=True)  # [[better_id, worse_id], …]
    flags = models.JSONField(default=dict, blank=True)  # {candidate_id: [flag, …]}
    # {candidate_id: {question: value}}: any question of the schema but text (multi: options that must be
    # ticked; the question named "flags" stays in `flags`, as it did before schemas existed).
    answers = models.JSONField(default=dict, blank=True)
    tolerance = models.PositiveSmallIntegerField(default=0)  # scale answers: within ±tolerance points
    all_bad = models.BooleanField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"gold for item {self.work_item_id}"


class ProjectStats(models.Model):
    """Precomputed quality statistics of a project (agreement, labelers, distributions, leaderboard),
    refreshed by a worker: pages and APIs read one row whatever the number of labels."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="stats")
    data = models.JSONField(default=dict)
    label_count = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"stats of project {self.project_id}"
