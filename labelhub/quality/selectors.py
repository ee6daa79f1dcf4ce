from labelhub.accounts.models import User
from labelhub.core.exceptions import Forbidden
from labelhub.labeling.models import Label, Quarantine, ReviewStatus, WorkItem
from labelhub.projects.models import Project
from labelhub.projects.permissions import Capability
from labelhub.projects.rubric import schema_of
from labelhub.projects.selectors import ProjectAccess, project_access

from .models import GoldStandard, ProjectStats


def stats_access(*, user: User, project_id) -> ProjectAccess:
    """Statistics name labelers: admins, reviewers and engineers see them; labelers get a 403."""
    access = project_access(user=user, project_id=project_id, capability=Capability.VIEW)
    if not (access.can(Capability.MANAGE) or access.can(Capability.REVIEW) or access.can(Capability.EXPORT)):
        raise Forbidden("Your role does not see quality statistics in this project.")
    return access


# The parts of the statistics that name models (Capability.SEE_PROVENANCE only).
MODEL_KEYS = ("leaderboard", "win_matrix")


def project_stats_payload(*, project: Project, include_labelers: bool, include_models: bool) -> dict:
    """The precomputed statistics (one row), with who is quarantined now; `data` is empty until the
    first computation (a worker does it after labels arrive, or on request). Without
    `include_models`, the parts that name models (MODEL_KEYS) are left out."""
    stats = ProjectStats.objects.filter(project=project).first()
    data = dict(stats.data) if stats else {}
    if not include_models:
        for key in MODEL_KEYS:
            data.pop(key, None)
    if include_labelers and data:
        quarantined = set(Quarantine.objects.filter(project=project, active=True).values_list("user_id", flat=True))
        data["labelers"] = [
            {**row, "quarantined": row["labeler_id"] in quarantined} for row in data.get("labelers", [])
        ]
    else:
        data.pop("labelers", None)
    return {
        "computed_at": stats.computed_at if stats else None,
        "label_count": stats.label_count if stats else 0,
        "duration_ms": stats.duration_ms if stats else None,
        "data": data,
    }


def gold_items(*, project: Project):
    return GoldStandard.objects.filter(project=project).select_related("created_by").order_by("-id")


def items_needing_adjudication(*, project: Project):
    return WorkItem.objects.filter(project=project, needs_adjudication=True).select_related("prompt").order_by("id")


def _strength_label(label: Label) -> str:
    """The strength level's label in the label's own schema ("" when none was given)."""
    if not label.strength:
        return ""
    schema = schema_of(label.guideline_version.schema if label.guideline_version_id else None)
    level = next((lv for lv in schema.strength_levels if lv.name == label.strength), None)
    return level.label if level is not None else label.strength


def adjudication_queue(*, project: Project, limit: int = 100) -> list[dict]:
    """Disputed items with their labels, for a reviewer to settle."""
    items = list(items_needing_adjudication(project=project)[:limit])
    labels = (
        Label.objects.filter(work_item__in=items)
        .exclude(review_status=ReviewStatus.REJECTED)
        .select_related("user", "guideline_version")
        .order_by("work_item_id", "id")
    )
    by_item: dict[int, list[dict]] = {}
    for label in labels:
        by_item.setdefault(label.work_item_id, []).append(
            {
                "label_id": label.pk,
                "labeler": label.user.username,
                "ranks": label.ranks,
                "all_bad": label.all_bad,
                "strength": label.strength,
                "strength_label": _strength_label(label),
                "rationale": label.rationale,
            }
        )
    return [
        {
            "work_item_id": item.pk,
            "prompt_id": item.prompt_id,
            "prompt": item.prompt.text,
            "candidate_ids": item.candidate_ids,
            "labels": by_item.get(item.pk, []),
        }
        for item in items
    ]
