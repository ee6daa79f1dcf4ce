from django.conf import settings
from django.db import models

from labelhub.core.models import BaseModel


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    LABELER = "labeler", "Labeler"
    REVIEWER = "reviewer", "Reviewer"
    ENGINEER = "engineer", "Engineer"


class Project(BaseModel):
    """A labeling project. Its tracks and flags are not fields: they are part of its labeling schema
    (the guideline draft's and each published version's, see rubric.py; selectors.project_track_labels)."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Settings read by the labeling and generation features.
    demonstration_overlap = models.PositiveSmallIntegerField(
        default=1, help_text="Labels wanted per demonstration item."
    )
    comparison_overlap = models.PositiveSmallIntegerField(default=3, help_text="Labels wanted per comparison item.")
    candidates_per_prompt = models.PositiveSmallIntegerField(
        default=2, help_text="Candidate answers to generate per prompt (2..9)."
    )
    demonstrations_enabled = models.BooleanField(default=True, help_text="Labelers write ideal answers.")
    comparisons_enabled = models.BooleanField(default=True, help_text="Labelers rank candidate answers.")
    lease_minutes = models.PositiveSmallIntegerField(
        default=30, help_text="How long a claimed task stays reserved for its labeler."
    )
    # Quality control.
    gold_rate = models.FloatField(default=0.1, help_text="Share of claims that serve a gold item (0 to 0.5).")
    max_overlap = models.PositiveSmallIntegerField(
        default=5, help_text="Adaptive overlap: most labels a disputed comparison item may get."
    )
    min_item_agreement = models.FloatField(
        default=0.6,
        help_text="Adaptive overlap: an item whose labelers agree on fewer of its pairs gets one more label.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(demonstration_overlap__gte=1, demonstration_overlap__lte=50),
                name="project_demonstration_overlap_range",
            ),
            models.CheckConstraint(
                condition=models.Q(comparison_overlap__gte=1, comparison_overlap__lte=50),
                name="project_comparison_overlap_range",
            ),
            models.CheckConstraint(
                condition=models.Q(candidates_per_prompt__gte=2, candidates_per_prompt__lte=9),
                name="project_candidates_per_prompt_range",
            ),
            models.CheckConstraint(
                condition=models.Q(lease_minutes__gte=1, lease_minutes__lte=1440), name="project_lease_range"
            ),
            models.CheckConstraint(condition=models.Q(gold_rate__gte=0, gold_rate__lte=0.5), name="project_gold_rate"),
            models.CheckConstraint(
                condition=models.Q(max_overlap__gte=1, max_overlap__lte=50), name="project_max_overlap_range"
            ),
            models.CheckConstraint(
                condition=models.Q(min_item_agreement__gte=0, min_item_agreement__lte=1),
                name="project_min_item_agreement_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(BaseModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        ordering = ["project_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user_per_project"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} · {self.project}"


def default_schema() -> dict:
    """The HHH preset's labeling schema (labelhub.projects.rubric), for drafts made without a preset."""
    from labelhub.projects.rubric_presets import hhh_schema

    return hhh_schema()


class GuidelineDraft(BaseModel):
    """The one editable copy of a project's guidelines and labeling schema; publishing freezes both
    into a version."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="guideline_draft")
    content = models.TextField(blank=True)
    schema = models.JSONField(default=default_schema, help_text="The labeling schema (see projects/rubric.py).")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Draft guidelines of {self.project}"


class GuidelineVersion(models.Model):
    """A published, immutable version of a project's guidelines (Markdown) and of its labeling schema
    (the questions labels made under it answer: a label's guideline version is its schema version).

    Immutability is enforced by a database trigger (see migration 0002): an UPDATE raises.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guideline_versions")
    number = models.PositiveIntegerField()
    content = models.TextField()
    schema = models.JSONField(default=default_schema, help_text="The labeling schema, frozen with the text.")
    change_note = models.CharField(max_length=500)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="guideline_version_unique_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="guideline_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.project} guidelines v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            from labelhub.core.exceptions import ApplicationError

            raise ApplicationError("Published guideline versions are immutable; publish a new version.")
        super().save(*args, **kwargs)


class GuidelineAcknowledgement(models.Model):
    """A member read and accepted a guideline version."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(GuidelineVersion, on_delete=models.CASCADE, related_name="acknowledgements")
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="guideline_ack_unique_user_version"),
        ]

    def __str__(self) -> str:
        return f"{self.user} acknowledged {self.version}"
