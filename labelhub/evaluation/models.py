"""The evaluation loop: frozen sets of held-out prompts, runs that compare a model under test with a
baseline on them, and the triage that turns what the model got wrong into fix-it work."""

from django.conf import settings
from django.db import models

from labelhub.core.models import BaseModel
from labelhub.generation.models import GenerationBatch, ModelConfig
from labelhub.labeling.models import WorkItem
from labelhub.projects.models import Project
from labelhub.prompts.models import Candidate, Prompt


class EvaluationSet(BaseModel):
    """A frozen, versioned selection of a project's prompts. Never edited: a new selection under the
    same name is the next version. Its prompts are held out (Prompt.held_out) while the set exists."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="evaluation_sets")
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    # How the prompts were chosen, normalised: {"tags": [...], "track": "", "prompt_ids": [...],
    # "sample": n | null, "seed": s | null}; the chosen prompts themselves are the rows below.
    selection = models.JSONField(default=dict, blank=True)
    prompt_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["project_id", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name", "version"], name="evaluation_set_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class EvaluationSetPrompt(models.Model):
    """One prompt of a set, with its optional reference answer (a Candidate of source "reference",
    made when the set is frozen, so a run against the references compares candidates like any other)."""

    evaluation_set = models.ForeignKey(EvaluationSet, on_delete=models.CASCADE, related_name="members")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="evaluation_memberships")
    reference = models.ForeignKey(Candidate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["evaluation_set_id", "prompt_id"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation_set", "prompt"], name="evaluation_set_prompt_unique")
        ]

    def __str__(self) -> str:
        return f"prompt {self.prompt_id} of set {self.evaluation_set_id}"


class BaselineKind(models.TextChoices):
    CONFIG = "config", "Another model config"
    REFERENCE = "reference", "The set's reference answers"
    RUN = "run", "A previous run's answers"


class RunStatus(models.TextChoices):
    GENERATING = "generating", "Generating answers"
    LABELING = "labeling", "Labeling pairs"
    FINISHED = "finished", "Finished"
    CANCELLED = "cancelled", "Cancelled"


class EvaluationRun(BaseModel):
    """The model under test against a baseline on one evaluation set. Immutable once finished: the
    report is frozen into `report` and nothing about the run changes after."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="evaluation_runs")
    evaluation_set = models.ForeignKey(EvaluationSet, on_delete=models.PROTECT, related_name="runs")
    number = models.PositiveIntegerField()  # 1, 2, … per set: the run history
    model_config = models.ForeignKey(ModelConfig, on_delete=models.PROTECT, related_name="+")
    baseline_kind = models.CharField(max_length=16, choices=BaselineKind.choices)
    baseline_config = models.ForeignKey(ModelConfig, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    baseline_run = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    labels_per_pair = models.PositiveSmallIntegerField(default=1)
    # The sampling parameters of each side when the run started ({"test": {...}, "baseline": {...}}):
    # candidates are reused only when these match their provenance.
    sampling = models.JSONField(default=dict, blank=True)
    # {"min_win_rate": 0.4, "max_unsafe_increase": 0.0, "max_flag_increase": 0.0} (see the report module)
    thresholds = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.GENERATING)
    batches = models.ManyToManyField(GenerationBatch, blank=True, related_name="+")
    report = models.JSONField(null=True, blank=True)  # frozen when finished
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation_set", "number"], name="evaluation_run_unique_number"),
            models.CheckConstraint(
                condition=models.Q(labels_per_pair__gte=1, labels_per_pair__lte=9),
                name="evaluation_run_labels_per_pair_range",
            ),
        ]

    def __str__(self) -> str:
        return f"evaluation run {self.number} of {self.evaluation_set}"

    @property
    def is_finished(self) -> bool:
        return self.status == RunStatus.FINISHED


class EvaluationPair(models.Model):
    """One prompt of a run: the answer under test, the baseline's answer and, once both exist, the
    blind comparison item labelers are served (display order randomised per assignment and recorded)."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="pairs")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    baseline_candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    work_item = models.OneToOneField(
        WorkItem, on_delete=models.PROTECT, null=True, blank=True, related_name="evaluation_pair"
    )

    class Meta:
        ordering = ["run_id", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "prompt"], name="evaluation_pair_unique_prompt")]

    def __str__(self) -> str:
        return f"pair {self.pk} of run {self.run_id}"


class TriageReason(models.TextChoices):
    LOST = "lost", "Lost to the baseline"
    FLAGGED = "flagged", "Flagged"
    UNSAFE = "unsafe", "Judged unsafe"
    ALL_BAD = "all_bad", "Both answers bad"


class TriageStatus(models.TextChoices):
    OPEN = "open", "To triage"
    FIX = "fix", "Sent to fix"
    WONT_FIX = "wont_fix", "Won't fix"
    DUPLICATE = "duplicate", "Duplicate"


class TriageItem(BaseModel):
    """An answer of the model under test that a finished run condemned, and what was decided about it."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="triage_items")
    pair = models.OneToOneField(EvaluationPair, on_delete=models.CASCADE, related_name="triage")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    reasons = models.JSONField(default=list)  # TriageReason values
    flags = models.JSONField(default=list, blank=True)  # the schema's flag options labelers ticked
    track = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=16, choices=TriageStatus.choices, default=TriageStatus.OPEN)
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    fix_work_item = models.OneToOneField(
        WorkItem, on_delete=models.PROTECT, null=True, blank=True, related_name="triage_fix"
    )

    class Meta:
        ordering = ["run_id", "id"]
        indexes = [models.Index(fields=["run", "status"], name="triage_run_status")]
