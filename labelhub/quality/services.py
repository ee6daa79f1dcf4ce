"""Quality control writes: quarantine, gold items, adaptive overlap and adjudication, and the
precomputed statistics. Every change a person (or the system) makes is logged as a QualityEvent.

Labeling sits below quality and never imports it: the disagreement check runs on its signal
(labeling.signals.comparison_item_completed, connected in quality/apps.py)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from labelhub.core.ids import InvalidId, id_or_404, parse_id
from labelhub.core.text import unstorable_reason
from labelhub.labeling.models import Label, Quarantine, ReviewStatus, WorkItem, WorkKind, WorkPurpose
from labelhub.labeling.services import assignments_end
from labelhub.projects.models import Membership, Project
from labelhub.projects.permissions import Capability
from labelhub.projects.rubric import FLAGS, gold_misses, ranking_pairs, schema_of
from labelhub.projects.selectors import project_access, project_schema

from . import metrics
from .models import GoldStandard, ProjectStats, QualityAction, QualityEvent
from .shapes import unsure_levels

logger = logging.getLogger(__name__)

GOLD_OVERLAP = 50  # a gold item is shown to every labeler once (up to this many)


def _reason(value, field: str = "reason") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApplicationError("Say why (it is logged).", extra={"fields": {field: ["Required."]}})
    if len(value) > 2000 or unstorable_reason(value):
        raise ApplicationError("The reason must be text of at most 2,000 characters.")
    return value.strip()


def _event(project_id: int, action: str, *, actor=None, subject=None, work_item_id=None, reason="", **details):
    QualityEvent.objects.create(
        project_id=project_id,
        action=action,
        actor=actor,
        subject=subject,
        work_item_id=work_item_id,
        reason=reason,
        details=details,
    )


# --- quarantine ------------------------------------------------------------------------------------


def _member(project: Project, user_id) -> User:
    user_id = id_or_404(user_id, label="Labeler")
    member = Membership.objects.select_related("user").filter(project=project, user_id=user_id).first()
    if member is None and not Label.objects.filter(project=project, user_id=user_id).exists():
        raise NotFound("Labeler not found.")
    return member.user if member else User.objects.get(pk=user_id)


@transaction.atomic
def labeler_quarantine(*, project: Project, user_id, actor: User, reason: str) -> Quarantine:
    """Set a labeler aside: their labels leave exports (exclude_quarantined is the default), the
    items they labeled or hold go back to the queue for others, and they cannot claim new work."""
    reason = _reason(reason)
    subject = _member(project, user_id)
    if subject.pk == actor.pk:
        raise Forbidden("You cannot quarantine yourself.")
    try:
        with transaction.atomic():
            quarantine = Quarantine.objects.create(project=project, user=subject, reason=reason, created_by=actor)
    except IntegrityError:
        raise Conflict(f"{subject.username} is already quarantined in this project.") from None
    assignments_end(project_id=project.pk, user_id=subject.pk)  # live leases end now; their slots are freed
    # Their labels stop counting towards the overlap (one label per item and labeler at most).
    labeled = Label.objects.filter(project=project, user=subject).exclude(review_status=ReviewStatus.REJECTED)
    freed = WorkItem.objects.filter(pk__in=labeled.values("work_item_id"), taken__gt=0, label_count__gt=0).update(
        taken=F("taken") - 1, label_count=F("label_count") - 1
    )
    _event(project.pk, QualityAction.QUARANTINE, actor=actor, subject=subject, reason=reason, items_requeued=freed)
    return quarantine


@transaction.atomic
def labeler_release(*, project: Project, user_id, actor: User, reason: str) -> Quarantine:
    """Lift a quarantine: the labeler's labels return to exports and count again where the item still
    has room (an item relabeled meanwhile keeps its extra label)."""
    reason = _reason(reason)
    subject = _member(project, user_id)
    quarantine = Quarantine.objects.select_for_update().filter(project=project, user=subject, active=True).first()
    if quarantine is None:
        raise Conflict(f"{subject.username} is not quarantined in this project.")
    quarantine.active = False
    quarantine.released_by = actor
    quarantine.released_at = timezone.now()
    quarantine.release_reason = reason
    quarantine.save(update_fields=["active", "released_by", "released_at", "release_reason", "updated_at"])
    labeled = Label.objects.filter(project=project, user=subject).exclude(review_status=ReviewStatus.REJECTED)
    counted = WorkItem.objects.filter(pk__in=labeled.values("work_item_id"), taken__lt=F("overlap")).update(
        taken=F("taken") + 1, label_count=F("label_count") + 1
    )
    _event(project.pk, QualityAction.RELEASE, actor=actor, subject=subject, reason=reason, labels_counted=counted)
    return quarantine


# --- gold items ------------------------------------------------------------------------------------


def _comparison_item(work_item_id, user: User, capability: Capability) -> WorkItem:
    work_item_id = id_or_404(work_item_id, label="Work item")
    item = WorkItem.objects.select_for_update().select_related("project").filter(pk=work_item_id).first()
    if item is None:
        raise NotFound("Work item not found.")
    try:
        project_access(user=user, project_id=item.project_id, capability=capability)
    except NotFound as exc:
        raise NotFound("Work item not found.") from exc
    return item


def _validate_gold(item: WorkItem, data: dict) -> dict:
    """The expected answer of `data`, checked against the item's candidates and the project's current
    schema (the questions its prompt's track shows): ApplicationError with `fields` naming each problem."""
    allowed = {"pairs", "ranking", "flags", "answers", "tolerance", "all_bad", "note"}
    if not isinstance(data, dict):
        raise ApplicationError("Expected a JSON object.")
    unknown = set(data) - allowed
    if unknown:
        raise ApplicationError(f"Unknown field(s): {', '.join(sorted(unknown))}.", extra={"allowed": sorted(allowed)})
    schema = project_schema(project=item.project)
    asked = {q.name: q for q in schema.questions_for(item.prompt.track)}
    ids = [str(c) for c in item.candidate_ids]
    errors: dict[str, list[str]] = {}
    pairs = _gold_pairs(data, ids, schema, errors)
    flags = _gold_flags(data.get("flags") or {}, ids, asked.get(FLAGS), errors)
    answers = _gold_answers(data.get("answers") or {}, ids, schema, asked, errors)
    tolerance = data.get("tolerance") or 0
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or not 0 <= tolerance <= 10:
        errors["tolerance"] = ["An integer from 0 to 10 (scale answers may be off by this many points)."]
        tolerance = 0
    all_bad = data.get("all_bad")
    if all_bad is not None and (not isinstance(all_bad, bool) or (all_bad and not schema.all_bad)):
        errors["all_bad"] = ["true, false or absent." if schema.all_bad else "This schema has no “all bad”."]
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000 or unstorable_reason(note):
        errors["note"] = ["Text of at most 2,000 characters."]
    if errors:
        raise ApplicationError("The expected answer is invalid.", extra={"fields": errors})
    pairs = [list(p) for p in dict.fromkeys(tuple(p) for p in pairs)]
    if {(a, b) for a, b in pairs} & {(b, a) for a, b in pairs}:
        raise ApplicationError("The expected pairs contradict each other.")
    if not pairs and not flags and not answers and all_bad is None:
        raise ApplicationError("Give the expected answer: pairs, a ranking, flags, answers or all_bad.")
    if all_bad and pairs:
        raise ApplicationError('"All bad" expects no preference between candidates.')
    expected = {"pairs": pairs, "flags": flags, "answers": answers, "tolerance": tolerance, "all_bad": all_bad}
    return expected | {"note": note}


def _gold_pairs(data: dict, ids: list[str], schema, errors: dict) -> list[list[str]]:
    raw_pairs, ranking = data.get("pairs") or [], data.get("ranking") or {}
    if (raw_pairs or ranking) and not schema.ranking:
        errors["ranking" if ranking else "pairs"] = ["This project's schema has no ranking."]
        return []
    pairs = []
    if not isinstance(raw_pairs, list) or any(
        not isinstance(p, list) or len(p) != 2 or str(p[0]) not in ids or str(p[1]) not in ids or str(p[0]) == str(p[1])
        for p in raw_pairs
    ):
        errors["pairs"] = [f"A list of [better, worse] candidate ids among {', '.join(ids)}."]
    else:
        pairs = [[str(a), str(b)] for a, b in raw_pairs]
    if ranking:
        ranking = {str(k): v for k, v in ranking.items()} if isinstance(ranking, dict) else None
        if (
            ranking is None
            or not set(ranking) <= set(ids)
            or len(ranking) < 2
            or any(isinstance(r, bool) or not isinstance(r, int) or not 1 <= r <= len(ids) for r in ranking.values())
        ):
            errors["ranking"] = ["An object: candidate id → rank (1 = best), for two or more candidates."]
        else:
            pairs += [[a, b] for a, b in ranking_pairs(ranking, "all")]
    return pairs


def _gold_flags(flags, ids: list[str], question, errors: dict) -> dict:
    """Expected ticks of the schema's flags question ({candidate: [option, …]})."""
    if not flags:
        return {}
    if question is None or question.type != "multi":
        errors["flags"] = ["This prompt's track asks no flags question."]
        return {}
    if not isinstance(flags, dict) or any(
        str(cid) not in ids or not v or question.check(v) is not None for cid, v in flags.items()
    ):
        errors["flags"] = [f"An object: candidate id → flags that must be ticked, from: {', '.join(question.options)}."]
        return {}
    return {str(k): sorted(set(v)) for k, v in flags.items()}


def _gold_answers(raw, ids: list[str], schema, asked: dict, errors: dict) -> dict:
    """Expected answers ({candidate: {question: value}}) to the questions the track shows (not text)."""
    if not isinstance(raw, dict):
        errors["answers"] = ["An object: candidate id → {question: expected answer}."]
        return {}
    out: dict[str, dict] = {}
    for cid, values in raw.items():
        cid = str(cid)
        if cid not in ids or not isinstance(values, dict):
            errors.setdefault("answers", []).append(f"{cid}: not a candidate of this item, or not an object.")
            continue
        for name, value in values.items():
            path, q = f"answers.{cid}.{name}", asked.get(name)
            if q is None:
                errors[path] = ["Not asked on this prompt's track." if schema.question(name) else "Unknown question."]
            elif q.type == "text":
                errors[path] = ["Text answers cannot be gold."]
            elif (problem := q.check(value)) or not q.answered(value):
                errors[path] = [f"Expected {problem or 'an answer'}."]
            elif name == FLAGS:
                errors[path] = ["Give expected flags under “flags”."]
            else:
                out.setdefault(cid, {})[name] = q.normalise(value)
    return out


@transaction.atomic
def gold_set(*, work_item_id, user: User, data: dict) -> GoldStandard:
    """Mark a comparison item as gold with its expected answer. It leaves the ordinary queue and is
    served to every labeler once, at the project's gold rate, looking like any other item."""
    item = _comparison_item(work_item_id, user, Capability.MANAGE)
    if item.kind != WorkKind.COMPARISON:
        raise ApplicationError("Only comparison items can be gold.")
    expected = _validate_gold(item, data)
    gold, created = GoldStandard.objects.update_or_create(
        work_item=item, defaults={**expected, "project_id": item.project_id, "created_by": user}
    )
    WorkItem.objects.filter(pk=item.pk).update(is_gold=True, overlap=GOLD_OVERLAP, needs_adjudication=False)
    _event(
        item.project_id,
        QualityAction.GOLD_SET,
        actor=user,
        work_item_id=item.pk,
        reason=expected["note"],
        expected={k: v for k, v in expected.items() if k != "note"},
        replaced=not created,
    )
    return gold


@transaction.atomic
def gold_unset(*, work_item_id, user: User, reason: str) -> WorkItem:
    item = _comparison_item(work_item_id, user, Capability.MANAGE)
    reason = _reason(reason)
    if not item.is_gold:
        raise Conflict("This item is not gold.")
    GoldStandard.objects.filter(work_item=item).delete()
    overlap = max(item.project.comparison_overlap, item.taken)
    WorkItem.objects.filter(pk=item.pk).update(is_gold=False, overlap=overlap)
    _event(item.project_id, QualityAction.GOLD_UNSET, actor=user, work_item_id=item.pk, reason=reason)
    item.refresh_from_db()
    return item


def gold_expected(gold: GoldStandard | dict) -> dict:
    """A gold answer as `rubric.gold_misses` reads it."""
    if isinstance(gold, dict):
        return gold
    return {
        "pairs": gold.pairs,
        "flags": gold.flags,
        "answers": gold.answers,
        "tolerance": gold.tolerance,
        "all_bad": gold.all_bad,
    }


def _expected_for(expected: dict, schema, track: str | None) -> dict:
    """The part of a gold answer a label made under `schema` on `track` could give: no pairs without a
    ranking, and only answers its schema asks on the track with a value that schema accepts."""
    asked = {q.name: q for q in (schema.questions_for(track) if track is not None else schema.questions)}
    flags_q = asked.get(FLAGS)
    answers = {
        cid: {n: v for n, v in values.items() if n in asked and asked[n].check(v) is None}
        for cid, values in (expected.get("answers") or {}).items()
    }
    return expected | {
        "pairs": expected.get("pairs") if schema.ranking else [],
        "flags": {
            cid: wanted
            for cid, wanted in (expected.get("flags") or {}).items()
            if flags_q is not None and flags_q.check(wanted) is None
        },
        "answers": {cid: values for cid, values in answers.items() if values},
    }


def gold_correct(
    gold: GoldStandard | dict, *, ranks: dict, all_bad: bool, flags=None, answers=None, schema=None, track=None
) -> bool:
    """Does a label match the expected answer (`rubric.gold_misses`)? Every expected pair in order, every
    expected flag ticked, every expected answer given (a scale within the tolerance), and "all bad" as
    expected. With `schema` (the label's version's) and `track`, only what that schema asks is checked.
    `answers` ({candidate: {question: value}}); `flags` (Label.flags) is merged into it."""
    expected = gold_expected(gold)
    if schema is not None:
        expected = _expected_for(expected, schema, track)
    merged = {str(cid): dict(values or {}) for cid, values in (answers or {}).items()}
    for cid, ticked in (flags or {}).items():
        merged.setdefault(str(cid), {}).setdefault(FLAGS, ticked)
    return not gold_misses(expected, ranks=ranks or {}, answers=merged, all_bad=all_bad)


# --- adaptive overlap and adjudication ---------------------------------------------------------------


def item_agreement(labels: list[tuple[dict, bool]]) -> float | None:
    """Share of (labeler pair × candidate pair) on which the item's labelers agree (an "all bad"
    label expresses no preference); None when nothing can be compared."""
    return metrics.pairwise_agreement([[{} if all_bad else (ranks or {}) for ranks, all_bad in labels]]).agreement


def item_check_disagreement_on_completed(sender, *, work_item_id: int, **kwargs) -> None:
    """Receiver of labeling.signals.comparison_item_completed (connected in quality/apps.py)."""
    item_check_disagreement(work_item_id=work_item_id)


def item_check_disagreement(*, work_item_id: int) -> str | None:
    """Called when a comparison label is stored (inside its transaction). Once the item has all its
    labels: if they disagree (agreement below the project's threshold) or one is unsure (a strength
    level of margin 0 in its schema, e.g. HHH's "negligibly better"), ask for one more
    label, up to the project's cap; at the cap, send it to a reviewer.
    Returns "raised", "adjudication" or None."""
    item = WorkItem.objects.select_for_update().select_related("project").get(pk=work_item_id)
    project = item.project
    if item.kind != WorkKind.COMPARISON or item.is_gold or item.needs_adjudication or item.label_count < item.overlap:
        return None
    if item.purpose == WorkPurpose.EVALUATION:
        # An evaluation pair's disagreement is what the run measures (the admin chose its labels per
        # pair); raising its overlap would stall the run until max_overlap labelers exist.
        return None
    quarantined = Quarantine.objects.filter(project=project, active=True).values("user_id")
    rows = list(
        Label.objects.filter(work_item=item)
        .exclude(review_status=ReviewStatus.REJECTED)
        .exclude(user_id__in=quarantined)
        .values_list("ranks", "all_bad", "strength", "guideline_version__schema")
    )
    # "Unsure": a strength level of margin 0 in the label's own schema (HHH: negligibly better).
    unsure = any(strength in unsure_levels(schema_of(schema)) for _r, _b, strength, schema in rows if strength)
    agreement = item_agreement([(ranks, all_bad) for ranks, all_bad, _s, _schema in rows])
    if not unsure and (agreement is None or agreement >= project.min_item_agreement):
        return None
    details = {"agreement": agreement, "unsure": unsure, "labels": len(rows)}
    if item.overlap < project.max_overlap:
        WorkItem.objects.filter(pk=item.pk).update(overlap=F("overlap") + 1)
        _event(project.pk, QualityAction.OVERLAP_RAISED, work_item_id=item.pk, overlap=item.overlap + 1, **details)
        return "raised"
    WorkItem.objects.filter(pk=item.pk).update(needs_adjudication=True)
    _event(project.pk, QualityAction.ADJUDICATION_NEEDED, work_item_id=item.pk, **details)
    return "adjudication"


@transaction.atomic
def item_adjudicate(*, work_item_id, reviewer: User, keep_label_id, comment: str) -> Label:
    """A reviewer settles a disputed item by keeping one labeler's label: it is accepted, the others
    are rejected in review (they leave exports) without asking for more labels."""
    item = _comparison_item(work_item_id, reviewer, Capability.REVIEW)
    comment = _reason(comment, "comment")
    if not item.needs_adjudication:
        raise Conflict("This item does not need adjudication.")
    labels = {
        label.pk: label
        for label in Label.objects.select_for_update()
        .filter(work_item=item)
        .exclude(review_status=ReviewStatus.REJECTED)
    }
    try:
        keep = labels[parse_id(keep_label_id, field="keep_label")]
    except (KeyError, InvalidId):
        raise ApplicationError(
            "Keep one of the item's labels.", extra={"allowed": sorted(labels), "fields": {"keep_label": ["Unknown."]}}
        ) from None
    if keep.user_id == reviewer.pk:
        raise Forbidden("You cannot adjudicate in favour of your own label.")
    now = timezone.now()
    others = [pk for pk in labels if pk != keep.pk]
    Label.objects.filter(pk__in=others).update(
        review_status=ReviewStatus.REJECTED, reviewed_by=reviewer, review_comment=f"Adjudicated: {comment}"[:2000],
        reviewed_at=now, updated_at=now,
    )  # fmt: skip
    Label.objects.filter(pk=keep.pk).update(
        review_status=ReviewStatus.ACCEPTED, reviewed_by=reviewer, review_comment=comment[:2000], reviewed_at=now,
        updated_at=now,
    )  # fmt: skip
    WorkItem.objects.filter(pk=item.pk).update(needs_adjudication=False)
    _event(
        item.project_id,
        QualityAction.ADJUDICATED,
        actor=reviewer,
        subject=keep.user,
        work_item_id=item.pk,
        reason=comment,
        kept_label=keep.pk,
        rejected_labels=others,
    )
    keep.refresh_from_db()
    return keep


# --- statistics --------------------------------------------------------------------------------------

STATS_LOCK_SECONDS = 600


def project_stats_refresh(*, project_id: int) -> ProjectStats | None:
    """Recompute and store the project's statistics (a worker runs this)."""
    from .stats import project_stats_compute

    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    data = project_stats_compute(project=project)
    stats, _ = ProjectStats.objects.update_or_create(
        project=project,
        defaults={
            "data": data,
            "label_count": data["labels"],
            "computed_at": timezone.now(),
            "duration_ms": data.pop("duration_ms", 0),
        },
    )
    return stats


STATS_SENT, STATS_IN_FLIGHT, STATS_UNAVAILABLE = "sent", "in_flight", "unavailable"


def project_stats_request(*, project_id: int) -> str:
    """Ask a worker to recompute: "sent", "in_flight" (one request per project at a time) or
    "unavailable" (the broker or cache is down; the periodic refresh catches up). Never raises."""
    from .tasks import project_stats_task

    key = f"labelhub:stats-requested:{project_id}"
    try:
        if not cache.add(key, 1, timeout=STATS_LOCK_SECONDS):
            return STATS_IN_FLIGHT
    except Exception as exc:  # noqa: BLE001
        logger.warning("stats request for project %s: cache unavailable (%s)", project_id, type(exc).__name__)
        return STATS_UNAVAILABLE
    try:
        project_stats_task.apply_async(kwargs={"project_id": project_id}, queue="default")
    except Exception as exc:  # noqa: BLE001 - the periodic refresh catches up
        logger.warning("could not request stats for project %s: %s", project_id, type(exc).__name__)
        cache.delete(key)
        return STATS_UNAVAILABLE
    return STATS_SENT


def project_stats_refresh_due() -> int:
    """Periodic: request a recomputation for projects with a label written or changed (submitted,
    reviewed, adjudicated) since their statistics were computed."""
    requested = 0
    last_change = Label.objects.values("project_id").annotate(last=Max("updated_at")).order_by()
    computed = dict(ProjectStats.objects.values_list("project_id", "computed_at"))
    for row in last_change:
        done = computed.get(row["project_id"])
        if done is None or row["last"] > done:
            requested += project_stats_request(project_id=row["project_id"]) == STATS_SENT
    return requested
