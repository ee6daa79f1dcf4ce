"""Reading evaluation runs: one run for a user, a set's run history, a run's progress."""

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Least

from labelhub.accounts.models import User
from labelhub.generation.models import GenerationJob, JobStatus
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_object_access

from ..models import EvaluationPair, EvaluationRun, EvaluationSet

RUN_RELATED = ("project", "evaluation_set", "model_config", "baseline_config", "baseline_run", "created_by")


def evaluation_run_get(*, user: User, run_id, capability: Capability = Capability.EVALUATE) -> EvaluationRun:
    """A run by id: 404 unless the user is a member of its project, 403 if their role lacks `capability`
    (a run names its model configs: EVALUATE)."""
    run, _access = project_object_access(
        user=user, queryset=EvaluationRun.objects.select_related(*RUN_RELATED), object_id=run_id, label="Run",
        capability=capability,
    )  # fmt: skip
    return run


def evaluation_runs(*, evaluation_set: EvaluationSet) -> QuerySet[EvaluationRun]:
    """A set's runs, newest first (the run history)."""
    return EvaluationRun.objects.filter(evaluation_set=evaluation_set).select_related(*RUN_RELATED).order_by("-number")


def evaluation_run_progress(*, run: EvaluationRun) -> dict:
    """Pairs, answers generated, generation failures, labels done / needed and a percent: 3 queries
    whatever the run's size."""
    from ..services.runs import pair_failure  # the one rule for "failed for good"

    lpp = run.labels_per_pair
    counts = EvaluationPair.objects.filter(run=run).aggregate(
        pairs=Count("id"),
        generated=Count("id", filter=Q(candidate__isnull=False, baseline_candidate__isnull=False)),
        items=Count("work_item"),
        labels_done=Sum(Least(F("work_item__label_count"), lpp)),
    )
    waiting = list(
        EvaluationPair.objects.filter(run=run, work_item__isnull=True).only(
            "id", "prompt_id", "candidate_id", "baseline_candidate_id"
        )
    )
    failed_jobs = set(
        GenerationJob.objects.filter(batch__in=run.batches.all(), status=JobStatus.FAILED).values_list(
            "prompt_id", "model_config_id"
        )
    ) if waiting else set()  # fmt: skip
    failed = sum(1 for p in waiting if pair_failure(run, p, failed_jobs))
    pairs, done = counts["pairs"], counts["labels_done"] or 0
    needed = (pairs - failed) * lpp
    total = pairs + needed
    return {
        "status": run.status,
        "pairs": pairs,
        "generated": counts["generated"],
        "generation_failed": failed,
        "items": counts["items"],
        "labels_done": done,
        "labels_needed": needed,
        "percent": round(100 * (counts["generated"] + done) / total) if total else 100,
    }
