"""Reading evaluation sets: the list of a project's sets, one set, its prompts and its run history.

Each reader is a fixed number of queries whatever the size of the set or of its history."""

from __future__ import annotations

from django.db.models import Count, JSONField, OuterRef, QuerySet, Subquery

from labelhub.accounts.models import User
from labelhub.core.pagination import keyset_page
from labelhub.projects.models import Project
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_object_access
from labelhub.prompts.models import Prompt

from ..models import EvaluationRun, EvaluationSet, RunStatus


def _latest_finished(field: str):
    runs = EvaluationRun.objects.filter(evaluation_set=OuterRef("pk"), status=RunStatus.FINISHED).order_by("-number")
    return Subquery(runs.values(field)[:1], output_field=JSONField() if field == "report" else None)


def evaluation_sets(*, project: Project) -> QuerySet[EvaluationSet]:
    """The project's sets (name, newest version first) with their run count and latest finished
    run's number and report (one query)."""
    return (
        EvaluationSet.objects.filter(project=project)
        .annotate(
            run_count=Count("runs", distinct=True),
            latest_run_number=_latest_finished("number"),
            latest_report=_latest_finished("report"),
        )
        .order_by("name", "-version")
    )


def evaluation_set_get(*, user: User, set_id, capability: Capability = Capability.EVALUATE) -> EvaluationSet:
    """A set seen by `user` (its project loaded): 404 unless they are a member of its project, 403
    without `capability`."""
    evaluation_set, _access = project_object_access(
        user=user,
        queryset=EvaluationSet.objects.select_related("project", "created_by"),
        object_id=set_id,
        label="Evaluation set",
        capability=capability,
    )
    return evaluation_set


def evaluation_set_prompt_page(*, evaluation_set: EvaluationSet, after=None, size: int = 50):
    """One keyset page of the set's prompts (ascending id), each with `reference_text` (one query)."""
    qs = Prompt.objects.filter(evaluation_memberships__evaluation_set=evaluation_set).annotate(
        reference_text=Subquery(evaluation_set.members.filter(prompt=OuterRef("pk")).values("reference__content")[:1])
    )
    qs = qs.only("id", "text", "track", "tags", "external_id").order_by("id")
    return keyset_page(qs, cursor=after, size=size, newest_first=False)


def evaluation_set_prompt_ids(
    *, evaluation_set: EvaluationSet, after: int | None = None, size: int = 1000
) -> list[int]:
    """Up to `size` of the set's prompt ids after `after`, ascending (one query)."""
    qs = evaluation_set.members.order_by("prompt_id")
    if after is not None:
        qs = qs.filter(prompt_id__gt=after)
    return list(qs.values_list("prompt_id", flat=True)[:size])


def run_score(run: EvaluationRun) -> dict | None:
    """{"value", "low", "high", "n"} of a run's frozen report, or None (not finished, too few labels)."""
    report = run.report if isinstance(run.report, dict) else None
    return report_score(report)


def report_score(report) -> dict | None:
    overall = report.get("overall") if isinstance(report, dict) else None
    score = overall.get("score") if isinstance(overall, dict) else None
    if not isinstance(score, dict) or not isinstance(score.get("value"), int | float):
        return None
    return score


def report_alarms(report) -> list[dict]:
    alarms = report.get("alarms") if isinstance(report, dict) else None
    return [a for a in alarms if isinstance(a, dict)] if isinstance(alarms, list) else []
