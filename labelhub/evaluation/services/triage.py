"""Triage of what an evaluation run condemned: the answers of the model under test that lost, were
flagged or judged unsafe, or were called "all bad", become TriageItems; a reviewer decides each
(fix / won't fix / duplicate), and "fix" turns the answer into a demonstration task that starts from
it ("fix this answer"), whose label is an "edited beats original" pair for the exports."""

from django.db import transaction
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError, Conflict, NotFound
from labelhub.labeling.models import WorkItem, WorkKind, WorkPurpose
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_access

from ..models import EvaluationRun, TriageItem, TriageReason, TriageStatus
from ..outcomes import BOTH_BAD, LOSS, WIN, PairOutcome, pair_outcomes

DECISIONS = (TriageStatus.FIX, TriageStatus.WONT_FIX, TriageStatus.DUPLICATE)
MAX_DUPLICATE_HOPS = 50  # a chain of duplicates longer than this is refused (it would be a cycle)


def condemned_reasons(outcome: PairOutcome) -> list[str]:
    """Why the labels of one pair condemn the answer under test (empty: they don't)."""
    reasons = []
    if outcome.count(LOSS) > outcome.count(WIN):
        reasons.append(TriageReason.LOST.value)
    if outcome.test_flags:
        reasons.append(TriageReason.FLAGGED.value)
    if any(label.test_unsafe for label in outcome.labels):
        reasons.append(TriageReason.UNSAFE.value)
    if outcome.count(BOTH_BAD):
        reasons.append(TriageReason.ALL_BAD.value)
    return reasons


@transaction.atomic
def triage_items_create(*, run: EvaluationRun) -> int:
    """Create the triage items of a finished run (idempotent: a pair gets one item, ever); returns
    how many were created. Six queries whatever the size of the run (pair_outcomes: four)."""
    existing = set(TriageItem.objects.filter(run=run).values_list("pair_id", flat=True))
    new = []
    for outcome in pair_outcomes(run=run):
        if outcome.pair_id in existing or outcome.candidate_id is None:
            continue
        reasons = condemned_reasons(outcome)
        if reasons:
            new.append(
                TriageItem(
                    run=run,
                    pair_id=outcome.pair_id,
                    prompt_id=outcome.prompt_id,
                    candidate_id=outcome.candidate_id,
                    reasons=reasons,
                    flags=sorted(outcome.test_flags),
                    track=outcome.track,
                )
            )
    # ignore_conflicts: a concurrent call made some of them first (TriageItem.pair is one-to-one).
    TriageItem.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _duplicate_target(item: TriageItem, duplicate_of) -> TriageItem:
    """The original item `item` duplicates: of the same project, not itself, following a chain of
    duplicates to its end."""
    if duplicate_of in (None, ""):
        raise ApplicationError(
            "duplicate_of: a duplicate names the item it duplicates.",
            extra={"fields": {"duplicate_of": ["Required for a duplicate."]}},
        )
    target_id = duplicate_of.pk if isinstance(duplicate_of, TriageItem) else duplicate_of
    seen = {item.pk}
    for _hop in range(MAX_DUPLICATE_HOPS):
        target = (
            TriageItem.objects.filter(pk=target_id, run__project_id=item.run.project_id)
            .only("pk", "status", "duplicate_of_id")
            .first()
        )
        if target is None:
            raise ApplicationError(
                "duplicate_of: no such triage item in this project.",
                extra={"fields": {"duplicate_of": ["Not an item of this project."]}},
            )
        if target.pk in seen:
            raise ApplicationError(
                "duplicate_of: an item cannot duplicate itself.",
                extra={"fields": {"duplicate_of": ["That is this item (or a duplicate of it)."]}},
            )
        if target.status != TriageStatus.DUPLICATE or target.duplicate_of_id is None:
            return target
        seen.add(target.pk)
        target_id = target.duplicate_of_id
    raise ApplicationError(
        "duplicate_of: the chain of duplicates is too long.", extra={"fields": {"duplicate_of": ["Too long."]}}
    )


def _fix_item_create(item: TriageItem) -> WorkItem:
    run = item.run
    return WorkItem.objects.create(
        project_id=run.project_id,
        prompt_id=item.prompt_id,
        kind=WorkKind.DEMONSTRATION,
        purpose=WorkPurpose.FIX,
        candidate_ids=[item.candidate_id],
        overlap=1,
        origin={
            "evaluation_run": run.pk,
            "evaluation_set": run.evaluation_set_id,
            "triage": item.pk,
            # What the workbench tells the labeler (labeling.selectors.task_payload "fix").
            "reasons": list(item.reasons),
            "flags": list(item.flags),
        },
    )


def _fix_item_withdraw(item: TriageItem) -> None:
    """Leaving "fix" before anyone fixed it: the task is withdrawn (with any claim on it)."""
    work_item_id = item.fix_work_item_id
    item.fix_work_item = None
    item.save(update_fields=["fix_work_item", "updated_at"])
    WorkItem.objects.filter(pk=work_item_id).delete()


def _locked(item: TriageItem) -> TriageItem:
    """The item's row, locked, then its run and fix task read after the lock (a join in the locking
    statement would show the fix task of the snapshot, not the one a concurrent Fix just made)."""
    locked = TriageItem.objects.select_for_update().filter(pk=item.pk).first()
    if locked is None:
        raise NotFound("Triage item not found.")
    locked.run = EvaluationRun.objects.get(pk=locked.run_id)
    if locked.fix_work_item_id is not None:
        locked.fix_work_item = WorkItem.objects.get(pk=locked.fix_work_item_id)
    return locked


@transaction.atomic
def triage_decide(*, item: TriageItem, user: User, status: str, note: str = "", duplicate_of=None) -> TriageItem:
    """Decide a triage item (TRIAGE capability): fix, wont_fix or duplicate (of an item of the same
    project; a duplicate of a duplicate resolves to the original). Re-deciding is allowed while no
    fix label exists. "fix" makes the demonstration task once, even when two reviewers press Fix at
    the same moment (the item's row is locked)."""
    project_access(user=user, project_id=item.run.project_id, capability=Capability.TRIAGE)
    if status not in DECISIONS:
        raise ApplicationError(
            f"status: {status!r} is not a decision.",
            extra={"fields": {"status": [f"One of {', '.join(DECISIONS)}."]}},
        )
    item = _locked(item)
    if not item.run.is_finished:
        raise Conflict("The run is not finished: its triage waits until it is.", extra={"reason": "run_not_finished"})
    fix = item.fix_work_item
    if fix is not None and fix.label_count > 0:
        raise Conflict("This answer was already fixed: the decision is final.", extra={"reason": "already_fixed"})
    target = _duplicate_target(item, duplicate_of) if status == TriageStatus.DUPLICATE else None
    if status == TriageStatus.FIX and fix is None:
        item.fix_work_item = _fix_item_create(item)
    elif status != TriageStatus.FIX and fix is not None:
        _fix_item_withdraw(item)
    item.status, item.note, item.duplicate_of = status, (note or "").strip(), target
    item.decided_by, item.decided_at = user, timezone.now()
    item.save(
        update_fields=["status", "note", "duplicate_of", "decided_by", "decided_at", "fix_work_item", "updated_at"]
    )
    return item
