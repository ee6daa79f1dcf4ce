from django.conf import settings
from django.db import models

from labelhub.core.models import BaseModel
from labelhub.projects.models import GuidelineVersion, Project


class WorkKind(models.TextChoices):
    DEMONSTRATION = "demonstration", "Demonstration"
    COMPARISON = "comparison", "Comparison"


class WorkPurpose(models.TextChoices):
    """Why an item exists. Training items ("") are one per (prompt, kind), made by work_items_sync;
    an evaluation run's comparison pairs and a triage's fix-it demonstrations are made by the
    evaluation app, as many as it needs, and say so in `origin` ({"evaluation_run": id, …})."""

    TRAINING = "", "Training"
    EVALUATION = "evaluation", "Evaluation pair"
    FIX = "fix", "Fix-it task"


class WorkItem(BaseModel):
    """One unit of labeling work: write the ideal answer to a prompt, or compare its candidates.

    `taken` counts the slots in use (submitted labels + live leases); a claim is the conditional
    UPDATE `taken = taken + 1 WHERE taken < overlap`, so the last slot is never given twice."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="work_items", db_index=False)
    prompt = models.ForeignKey("prompts.Prompt", on_delete=models.CASCADE, related_name="work_items")
    kind = models.CharField(max_length=16, choices=WorkKind.choices)
    candidate_ids = models.JSONField(default=list, blank=True)  # comparison: the K candidates compared
    overlap = models.PositiveSmallIntegerField()
    taken = models.PositiveSmallIntegerField(default=0)
    label_count = models.PositiveSmallIntegerField(default=0)
    # Quality control: gold items are served at the project's gold rate (never as ordinary work);
    # disputed items that reached the overlap cap wait for a reviewer.
    is_gold = models.BooleanField(default=False)
    needs_adjudication = models.BooleanField(default=False)
    purpose = models.CharField(max_length=16, choices=WorkPurpose.choices, blank=True, default="", db_default="")
    origin = models.JSONField(default=dict, blank=True, db_default={})  # e.g. {"evaluation_run": 3, "triage": 12}

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "kind"], condition=models.Q(purpose=""), name="work_item_unique_prompt_kind"
            ),
            models.CheckConstraint(
                condition=models.Q(taken__lte=models.F("overlap")), name="work_item_taken_le_overlap"
            ),
            models.CheckConstraint(
                condition=models.Q(label_count__lte=models.F("overlap")), name="work_item_labels_le_overlap"
            ),
        ]
        indexes = [
            # The queue: open items of a project in id order. Partial, so finished items cost nothing.
            # is_gold second: a claim asks for gold items or for ordinary ones, and a labeler who already
            # did every gold item must not walk the whole open queue to find that out.
            models.Index(
                fields=["project", "is_gold", "id"],
                condition=models.Q(taken__lt=models.F("overlap")),
                name="work_item_open",
            ),
            # The adjudication queue (a handful of items among millions).
            models.Index(
                fields=["project", "id"], condition=models.Q(needs_adjudication=True), name="work_item_adjudication"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} item {self.pk}"


class AssignmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"
    EXPIRED = "expired", "Expired"
    REJECTED = "rejected", "Rejected in review"


class Assignment(BaseModel):
    """A labeler's claim on a work item. One per (item, labeler), ever: a labeler never gets an
    item twice once they labeled or skipped it."""

    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ACTIVE)
    claimed_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField()
    display_order = models.JSONField(default=list, blank=True)  # candidate ids as shown, randomised
    guideline_version = models.ForeignKey(GuidelineVersion, on_delete=models.PROTECT, null=True, related_name="+")
    skip_reason = models.CharField(max_length=500, blank=True)
    draft = models.JSONField(null=True, blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Reopened to fix a label a reviewer rejected (services.label_reopen): that label, whose comment the
    # workbench shows and which the fixed label supersedes. Null for every ordinary claim.
    reopened_from = models.ForeignKey(
        "Label", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_default=None
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["work_item", "user"], name="assignment_unique_item_user"),
        ]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="assignment_lease"),
            models.Index(fields=["user", "status"], name="assignment_user_status"),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status})"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Label(BaseModel):
    """What a labeler submitted for an assignment: one live label per assignment (the database says
    so: label_one_live_per_assignment), which makes submit idempotent. A label a reviewer rejected is
    kept as history; its labeler may reopen the assignment and submit a fixed label, which
    `supersedes` it. Demonstration fields or comparison fields are filled by kind."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="labels")
    work_item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, related_name="labels")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels")
    kind = models.CharField(max_length=16, choices=WorkKind.choices)
    guideline_version = models.ForeignKey(GuidelineVersion, on_delete=models.PROTECT, related_name="labels")
    time_on_task_ms = models.PositiveIntegerField()
    display_order = models.JSONField(default=list, blank=True)
    # Demonstration
    content = models.TextField(blank=True)
    source_candidate = models.ForeignKey(
        "prompts.Candidate", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    original_content = models.TextField(blank=True)
    diff = models.TextField(blank=True)
    # Comparison: per candidate id (as strings): rank (1 = best, ties share a rank), axis ratings,
    # flags, safety verdict.
    ranks = models.JSONField(default=dict, blank=True)
    all_bad = models.BooleanField(default=False)
    ratings = models.JSONField(default=dict, blank=True)
    flags = models.JSONField(default=dict, blank=True)
    strength = models.CharField(max_length=32, blank=True)
    safety = models.JSONField(default=dict, blank=True)
    rationale = models.TextField(blank=True)
    review_status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    review_comment = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    demo = models.BooleanField(default=False, help_text="Made by `seed_demo`, not by a person.")
    supersedes = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_default=None
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One label per assignment, except those rejected in review (kept as history).
            models.UniqueConstraint(
                fields=["assignment"],
                condition=~models.Q(review_status="rejected"),
                name="label_one_live_per_assignment",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "review_status", "id"], name="label_review_queue"),
            models.Index(fields=["project", "user", "id"], name="label_by_user"),
            # The workbench's "labels by you in the last 24 hours": a range, not all of the labeler's labels.
            models.Index(fields=["project", "user", "created_at"], name="label_by_user_time"),
            # Exports read a project's labels in (work item, id) order: an index scan, no sort, so the
            # first bytes leave at once however many labels there are.
            models.Index(fields=["project", "work_item", "id"], name="label_export_order"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} label {self.pk}"


class Quarantine(BaseModel):
    """A labeler set aside in a project: their labels leave exports by default, the items they
    labeled go back to the queue for others, and they cannot claim new work until released.

    A labeler's standing in a project, read by every claim and submit, so it lives here; quality
    control writes it (quality.services.labeler_quarantine / labeler_release, with their events)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quarantines")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quarantines")
    active = models.BooleanField(default=True)
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)

    class Meta:
        db_table = "quality_quarantine"  # moved from the quality app (labeling 0005): same table, same rows
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"], condition=models.Q(active=True), name="quarantine_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"quarantine of user {self.user_id} in project {self.project_id}"


class WorkChoice(models.TextChoices):
    """What a labeler asks to be served. Open vocabulary: a later kind ("steps") joins here."""

    ANYTHING = "", "Anything"
    DEMONSTRATION = "demonstration", "Demonstrations"
    COMPARISON = "comparison", "Comparisons"


class WorkPreference(BaseModel):
    """The kind of work and the track a labeler chose in a project; read by every claim (in the same
    statement as their standing: services._labeler_state). Empty means anything."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, blank=True, default="")
    track = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="work_preference_one")]

    def __str__(self) -> str:
        return f"work preference of user {self.user_id} in project {self.project_id}"
