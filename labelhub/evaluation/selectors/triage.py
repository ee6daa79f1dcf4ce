"""Reads of the triage: a run's condemned answers with the comparison that condemned them, and a
set's summary across its runs. Reviewers (TRIAGE) see answers and labels, never which model config
wrote an answer, and no labeler names. Every read here is a constant number of queries."""

import itertools
from dataclasses import dataclass

from django.db.models import F, QuerySet

from labelhub.accounts.models import User
from labelhub.labeling.models import Label, Quarantine, ReviewStatus
from labelhub.projects.permissions import Capability
from labelhub.projects.rubric import answers_of
from labelhub.projects.selectors import project_object_access

from ..models import EvaluationRun, EvaluationSet, RunStatus, TriageItem, TriageReason, TriageStatus


@dataclass(frozen=True)
class TriageFilters:
    """What a run's triage list is narrowed to ("" = everything); the filters combine (AND)."""

    status: str = ""
    reason: str = ""
    track: str = ""
    flag: str = ""


FILTER_CHOICES = {"status": TriageStatus.values, "reason": TriageReason.values}


def triage_run_for_project(*, project_id: int, run_id: int) -> EvaluationRun | None:
    """The run `run_id` of the project (None: not one of its runs)."""
    return EvaluationRun.objects.filter(project_id=project_id, pk=run_id).select_related("evaluation_set").first()


def triage_run_get(*, user: User, run_id) -> EvaluationRun:
    """A run addressed by its own id (the API): 404 outside the user's projects, 403 without TRIAGE."""
    queryset = EvaluationRun.objects.select_related("evaluation_set")
    run, _access = project_object_access(
        user=user, queryset=queryset, object_id=run_id, label="Evaluation run", capability=Capability.TRIAGE
    )
    return run


def triage_item_get(*, user: User, item_id) -> TriageItem:
    """A triage item addressed by its own id (the API), with its run."""
    queryset = TriageItem.objects.select_related("run").annotate(project_id=F("run__project_id"))
    item, _access = project_object_access(
        user=user, queryset=queryset, object_id=item_id, label="Triage item", capability=Capability.TRIAGE
    )
    return item


def triage_items(*, run: EvaluationRun, filters: TriageFilters | None = None) -> QuerySet[TriageItem]:
    """The run's triage items in id order, narrowed by `filters`."""
    filters = filters or TriageFilters()
    items = TriageItem.objects.filter(run=run)
    if filters.status:
        items = items.filter(status=filters.status)
    if filters.reason:
        items = items.filter(reasons__contains=[filters.reason])
    if filters.track:
        items = items.filter(track=filters.track)
    if filters.flag:
        items = items.filter(flags__contains=[filters.flag])
    return items.order_by("id")


def triage_facets(*, run: EvaluationRun) -> dict:
    """The tracks and flags the run's items have, and how many items per status (one query)."""
    tracks, flags, statuses = set(), set(), dict.fromkeys(TriageStatus.values, 0)
    for track, item_flags, status in TriageItem.objects.filter(run=run).values_list("track", "flags", "status"):
        tracks.add(track)
        flags.update(str(f) for f in item_flags or ())
        statuses[status] = statuses.get(status, 0) + 1
    return {"tracks": sorted(tracks), "flags": sorted(flags), "statuses": statuses}


def _labels_by_item(project_id: int, work_item_ids: list[int]) -> dict[int, list[Label]]:
    """The live labels of the pairs (as outcomes.pair_outcomes reads them), one query."""
    quarantined = Quarantine.objects.filter(project_id=project_id, active=True).values("user_id")
    labels = (
        Label.objects.filter(work_item_id__in=work_item_ids)
        .exclude(review_status=ReviewStatus.REJECTED)
        .exclude(user_id__in=quarantined)
        .only("pk", "work_item_id", "ranks", "all_bad", "ratings", "flags", "safety", "rationale", "strength")
        .order_by("work_item_id", "id")
    )
    out: dict[int, list[Label]] = {}
    for label in labels:
        out.setdefault(label.work_item_id, []).append(label)
    return out


def _verdict(label: Label, test: str, baseline: str) -> str:
    ranks = {str(k): v for k, v in (label.ranks or {}).items()}
    if label.all_bad:
        return "both bad"
    if test not in ranks or baseline not in ranks or ranks[test] == ranks[baseline]:
        return "tie"
    return "preferred" if ranks[test] < ranks[baseline] else "worse"


def _side(label: Label, cid: str) -> dict:
    answers = answers_of(label.ratings, label.flags, cid)
    return {
        "flags": [str(f) for f in answers.pop("flags", None) or ()],
        "ratings": answers,
        "safety": (label.safety or {}).get(cid) or "",
    }


def _comparison(label: Label, test: str, baseline: str) -> dict:
    return {
        "verdict": _verdict(label, test, baseline),
        "strength": label.strength,
        "test": _side(label, test),
        "baseline": _side(label, baseline),
        "rationale": label.rationale,
    }


def triage_rows(*, item_ids: list[int]) -> list[dict]:
    """Each item with its prompt, the condemned answer, the baseline's and the labels of the
    comparison that condemned it (verdicts from the side of the condemned answer). Three queries
    whatever the number of items."""
    rows = list(
        TriageItem.objects.filter(pk__in=item_ids)
        .select_related("run", "prompt", "candidate", "pair__baseline_candidate", "fix_work_item", "duplicate_of")
        .order_by("id")
    )
    labels = _labels_by_item(rows[0].run.project_id, [r.pair.work_item_id for r in rows]) if rows else {}
    later, again = _next_run_verdicts(rows)
    out = []
    for item in rows:
        test, baseline = str(item.candidate_id), str(item.pair.baseline_candidate_id)
        fix = item.fix_work_item
        out.append(
            {
                "item": item,
                "baseline": item.pair.baseline_candidate,
                "labels": [_comparison(label, test, baseline) for label in labels.get(item.pair.work_item_id, ())],
                "fixed": fix is not None and fix.label_count > 0,
                "fix_work_item_id": fix.pk if fix is not None else None,
                "decidable": item.run.status == RunStatus.FINISHED and not (fix is not None and fix.label_count > 0),
                "next_run": later,
                "still_failing": None if later is None else item.prompt_id in again,
            }
        )
    return out


def _next_run_verdicts(rows: list[TriageItem]) -> tuple[EvaluationRun | None, set[int]]:
    """The next finished run on the same set as the items' run, and the prompts it condemned again
    among the items' (two queries; none without items)."""
    if not rows:
        return None, set()
    run = rows[0].run
    later = (
        EvaluationRun.objects.filter(
            evaluation_set_id=run.evaluation_set_id, status=RunStatus.FINISHED, number__gt=run.number
        )
        .order_by("number")
        .first()
    )
    if later is None:
        return None, set()
    prompts = [r.prompt_id for r in rows]
    again = set(TriageItem.objects.filter(run=later, prompt_id__in=prompts).values_list("prompt_id", flat=True))
    return later, again


def triage_summary(*, evaluation_set: EvaluationSet) -> list[dict]:
    """Per run of the set (newest first): misbehaviours found, sent to fix, fixed (the fix task has
    its label), won't fix, duplicates, and for each of them whether the next finished run on the set
    condemned the same prompt again ("still failing") or not ("resolved"); no next run yet: neither.
    Two queries whatever the number of runs and items."""
    runs = list(EvaluationRun.objects.filter(evaluation_set=evaluation_set).order_by("number"))
    rows = TriageItem.objects.filter(run__evaluation_set=evaluation_set).values_list(
        "run_id", "prompt_id", "status", "fix_work_item__label_count"
    )
    by_run: dict[int, list[tuple]] = {}
    for run_id, prompt_id, status, fix_labels in rows:
        by_run.setdefault(run_id, []).append((prompt_id, status, fix_labels or 0))
    finished = [run for run in runs if run.status == RunStatus.FINISHED]
    following = {a.pk: b for a, b in itertools.pairwise(finished)}
    out = []
    for run in runs:
        items = by_run.get(run.pk, [])
        later = following.get(run.pk)
        again = {p for p, _s, _f in by_run.get(later.pk, [])} if later is not None else set()
        still = sum(1 for p, _s, _f in items if p in again)
        out.append(
            {
                "run": run,
                "found": len(items),
                "fix": sum(1 for _p, s, _f in items if s == TriageStatus.FIX),
                "fixed": sum(1 for _p, s, f in items if s == TriageStatus.FIX and f > 0),
                "wont_fix": sum(1 for _p, s, _f in items if s == TriageStatus.WONT_FIX),
                "duplicate": sum(1 for _p, s, _f in items if s == TriageStatus.DUPLICATE),
                "open": sum(1 for _p, s, _f in items if s == TriageStatus.OPEN),
                "next_run": later,
                "still_failing": still if later is not None else None,
                "resolved": len(items) - still if later is not None else None,
            }
        )
    return out[::-1]
