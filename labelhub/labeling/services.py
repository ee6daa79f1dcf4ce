"""The labeling queue and label submission.

Invariants (held by the database, not only here):
- one assignment per (item, labeler), ever; one label per assignment;
- `WorkItem.taken` (submitted labels + live leases) never exceeds the overlap: a claim is the
  conditional UPDATE `taken = taken + 1 WHERE taken < overlap`, correct on PostgreSQL and SQLite;
  on PostgreSQL candidates are picked with SELECT ... FOR UPDATE SKIP LOCKED so concurrent
  labelers do not queue behind one row.

The hot path (a claim, a submit: what every labeler does all day) is five SQL statements a request,
the heavier ones written out (see core/rawsql.py); tests/labeling/test_hot_path.py pins the count.
"""

import functools
import random
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.diff import unified_text
from labelhub.core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from labelhub.core.ids import id_or_404, parse_id
from labelhub.core.rawsql import Columns, instances
from labelhub.core.text import first_unstorable, unstorable_reason
from labelhub.projects.models import GuidelineAcknowledgement, GuidelineVersion, Membership, Project
from labelhub.projects.permissions import Capability, role_can, roles_with
from labelhub.projects.rubric import SchemaInvalid, schema_of
from labelhub.projects.selectors import project_access
from labelhub.prompts.models import Candidate, Prompt
from labelhub.prompts.selectors import prompts_ready_for_work

from .models import (
    Assignment,
    AssignmentStatus,
    Label,
    Quarantine,
    ReviewStatus,
    WorkChoice,
    WorkItem,
    WorkKind,
    WorkPreference,
)
from .selectors import OPEN_TO_THEM, PAUSED, assignment_schema, label_as_draft, labeler_standing_check, work_kinds
from .signals import comparison_item_completed

MAX_COMPARISON_CANDIDATES = 9
MAX_TEXT = 100_000
LABELING_ROLES = roles_with(Capability.LABEL)


class GuidelinesNotAcknowledged(ApplicationError):
    status_code = 409


# --- building the queue ----------------------------------------------------------------------------


def work_items_sync(*, project: Project) -> dict:
    """Create the work items the project's prompts call for (idempotent).

    Demonstration: one per prompt. Comparison: one per prompt once it has at least
    `candidates_per_prompt` candidates; the first K (up to 9) are compared."""
    created = {"demonstration": 0, "comparison": 0}
    if project.demonstrations_enabled:
        missing = prompts_ready_for_work(project=project).exclude(work_items__kind=WorkKind.DEMONSTRATION)
        ids = list(missing.values_list("pk", flat=True))
        for i in range(0, len(ids), 5000):
            WorkItem.objects.bulk_create(
                [
                    WorkItem(
                        project=project,
                        prompt_id=pid,
                        kind=WorkKind.DEMONSTRATION,
                        overlap=project.demonstration_overlap,
                    )
                    for pid in ids[i : i + 5000]
                ],
                ignore_conflicts=True,
            )
        created["demonstration"] = len(ids)
    if project.comparisons_enabled:
        k = min(max(2, project.candidates_per_prompt), MAX_COMPARISON_CANDIDATES)
        ready = (
            prompts_ready_for_work(project=project)
            .exclude(work_items__kind=WorkKind.COMPARISON)
            .annotate(n=Count("candidates"))
            .filter(n__gte=k)
            .values_list("pk", flat=True)
        )
        ids = list(ready)
        for i in range(0, len(ids), 2000):
            chunk = ids[i : i + 2000]
            by_prompt: dict[int, list[int]] = {}
            for cid, pid in Candidate.objects.filter(prompt_id__in=chunk).order_by("id").values_list("pk", "prompt_id"):
                by_prompt.setdefault(pid, []).append(cid)
            WorkItem.objects.bulk_create(
                [
                    WorkItem(
                        project=project,
                        prompt_id=pid,
                        kind=WorkKind.COMPARISON,
                        candidate_ids=by_prompt[pid][:k],
                        overlap=project.comparison_overlap,
                    )
                    for pid in chunk
                ],
                ignore_conflicts=True,
            )
        created["comparison"] = len(ids)
    if connection.vendor == "postgresql" and sum(created.values()) >= 1000:
        # Fresh statistics right away: without them the planner misjudges the partial queue index
        # (20 ms instead of 0.1 ms a claim) until autovacuum gets round to the table.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE labeling_workitem")
    return created


# --- claiming ----------------------------------------------------------------------------------------


def _ensure_labeler(project: Project, user: User) -> str:
    return project_access(user=user, project_id=project.pk, capability=Capability.LABEL).role


_LABELER_STATE_SQL = """
SELECT v.id, v.project_id, v.number, v.published_by_id, v.published_at, v.schema,
  (SELECT MAX(gv.number) FROM projects_guidelineacknowledgement ack
     JOIN projects_guidelineversion gv ON gv.id = ack.version_id
   WHERE ack.user_id = %(user)s AND gv.project_id = %(project)s) AS acked_number,
  EXISTS (SELECT 1 FROM quality_quarantine q
          WHERE q.project_id = %(project)s AND q.user_id = %(user)s AND q.active) AS quarantined,
  (SELECT a.id FROM labeling_assignment a JOIN labeling_workitem w ON w.id = a.work_item_id
   WHERE a.user_id = %(user)s AND w.project_id = %(project)s AND a.status = 'active' AND a.lease_expires_at > %(now)s
   ORDER BY a.claimed_at LIMIT 1) AS held_id,
  (SELECT wp.kind FROM labeling_workpreference wp
   WHERE wp.project_id = %(project)s AND wp.user_id = %(user)s) AS pref_kind,
  (SELECT wp.track FROM labeling_workpreference wp
   WHERE wp.project_id = %(project)s AND wp.user_id = %(user)s) AS pref_track
FROM projects_guidelineversion v
WHERE v.project_id = %(project)s
ORDER BY v.number DESC
LIMIT 1
"""


def _labeler_state(project: Project, user: User) -> GuidelineVersion | None:
    """The project's current guideline version (its text deferred; its labeling schema read), with
    what a claim checks about the user: `acked_number`, the highest version they acknowledged;
    `quarantined`; `held_id`, the live assignment they hold; `pref_kind` and `pref_track`, the work
    they chose (WorkPreference; None when they never chose). One query (SQL written out: as an
    annotated queryset, compiling it cost more than running it, on every claim); None when the
    project has no guidelines yet."""
    params = {
        "project": project.pk, "user": user.pk,
        "now": connection.ops.adapt_datetimefield_value(timezone.now()),
    }  # fmt: skip
    return next(iter(GuidelineVersion.objects.raw(_LABELER_STATE_SQL, params)), None)


def _gate(version: GuidelineVersion | None, project: Project, user: User) -> GuidelineVersion:
    """May the user claim work: not quarantined, and the current guidelines acknowledged (409 with
    what changed if not). Returns the current version, as `_labeler_state` read it."""
    if (
        version.quarantined if version is not None
        else Quarantine.objects.filter(project=project, user=user, active=True).exists()
    ):  # fmt: skip
        raise Forbidden(PAUSED)
    if version is None:
        raise ApplicationError("This project has no published guidelines yet; an admin must publish them first.")
    if version.acked_number != version.number:
        raise GuidelinesNotAcknowledged(
            f"Read and acknowledge guidelines version {version.number} before the next task.",
            extra={"current_version": version.number, "acknowledged_version": version.acked_number},
        )
    return version


def assignments_expire(*, project: Project | None = None) -> int:
    """Free the slots of leases that ran out (the labeler walked away). Idempotent."""
    now = timezone.now()
    qs = Assignment.objects.filter(status=AssignmentStatus.ACTIVE, lease_expires_at__lt=now)
    if project is not None:
        qs = qs.filter(work_item__project=project)
    expired = 0
    for assignment_id, item_id in qs.values_list("pk", "work_item_id")[:1000]:
        with transaction.atomic():
            if Assignment.objects.filter(
                pk=assignment_id, status=AssignmentStatus.ACTIVE, lease_expires_at__lt=now
            ).update(status=AssignmentStatus.EXPIRED):
                WorkItem.objects.filter(pk=item_id, taken__gt=0).update(taken=F("taken") - 1)
                expired += 1
    return expired


def assignments_end(*, project_id: int, user_id: int) -> int:
    """End a member's live leases in a project at once (removed, or given a role that does not label):
    marked expired, their slots back to the queue in the same transaction. Drafts stay stored; an
    expired assignment is never reopened for someone who may not label (_own_assignment, the claim)."""
    with transaction.atomic():
        held = list(
            Assignment.objects.select_for_update(of=("self",))
            .filter(work_item__project_id=project_id, user_id=user_id, status=AssignmentStatus.ACTIVE)
            .values_list("pk", "work_item_id")
        )
        if held:
            Assignment.objects.filter(pk__in=[pk for pk, _item in held]).update(status=AssignmentStatus.EXPIRED)
            WorkItem.objects.filter(pk__in=[item for _pk, item in held], taken__gt=0).update(taken=F("taken") - 1)
    return len(held)


def assignments_end_on_right_lost(sender, *, project: Project, user_id: int, **kwargs) -> None:
    """Receiver of projects.signals.labeling_right_lost (connected in labeling/apps.py)."""
    assignments_end(project_id=project.pk, user_id=user_id)


# SEEN_IN_REVIEW, the blind-labeling rule the claims follow (and selectors.review_queue, the other
# half): a user whose role reviews may have seen every label of an item they never held, so they
# are only served items without labels; anyone else is never served an item with a label they reviewed.
def _candidate_items(
    project: Project,
    user: User,
    kinds: list[str],
    limit: int,
    gold: bool = False,
    reviews: bool = False,
    track: str = "",
):
    """Open items this user may take: free slot, no assignment of theirs except an expired one, and
    no label they may have seen in review (SEEN_IN_REVIEW); on `track` when one is given."""
    mine = Assignment.objects.filter(user=user, work_item=OuterRef("pk")).exclude(status=AssignmentStatus.EXPIRED)
    seen = Label.objects.filter(work_item=OuterRef("pk"))
    if not reviews:
        seen = seen.filter(reviewed_by=user)
    items = WorkItem.objects.filter(project=project, kind__in=kinds, taken__lt=F("overlap"), is_gold=gold)
    if track:
        items = items.filter(prompt__track=track)
    return items.exclude(Exists(mine)).exclude(Exists(seen)).order_by("id").values_list("pk", flat=True)[:limit]


def _choice(project: Project, version: GuidelineVersion, kind: str | None, track: str | None) -> tuple[str, str]:
    """The (kind, track) a claim serves: the ones asked for (an API client's `kind`/`track`), else the
    labeler's stored choice; "" is anything. A stored track the current schema no longer has reads as
    any track (the workbench's chooser says so); an asked one is refused, naming the field."""
    stored = kind is None and track is None
    kind = (getattr(version, "pref_kind", None) or "") if kind is None else kind
    track = (getattr(version, "pref_track", None) or "") if track is None else track
    if kind not in WorkChoice.values:
        raise ApplicationError(f"kind: {kind!r} is not a kind of work.", extra={"fields": {"kind": ["Unknown."]}})
    if track and track not in schema_of(version.schema).track_names:
        if stored:
            return kind, ""
        raise ApplicationError(
            f"track: {track!r} is not a track of the current guidelines.", extra={"fields": {"track": ["Unknown."]}}
        )
    return kind, track


def _kind_order(project: Project, kind: str) -> list[list[str]]:
    """The kinds a claim tries, in order: the chosen one; for "anything", every kind the project has,
    the first picked at random per claim (a mix: the demonstrations, built first, do not bury the
    comparisons), then the other when the first has nothing for this labeler."""
    if kind:
        return [[kind]] if kind in work_kinds(project) else []
    order = [[k] for k in work_kinds(project)]
    random.shuffle(order)
    return order


def work_item_claim_next(
    *,
    project: Project,
    user: User,
    kind: str | None = None,
    track: str | None = None,
    role: str | None = None,
) -> Assignment | None:
    """The labeler's current task, or a newly claimed one; None when nothing is left for them.

    `kind` / `track` ("" = anything) override the labeler's stored choice (WorkPreference) for this
    claim. `role` may be passed by a caller that already resolved the membership (saves a query)."""
    if role is None:
        role = _ensure_labeler(project, user)
    elif not role_can(role, Capability.LABEL):
        raise Forbidden(f"Your role ({role}) does not label in this project.")
    version = _gate(_labeler_state(project, user), project, user)
    kind, track = _choice(project, version, kind, track)
    if version.held_id is not None:
        current = Assignment.objects.select_related("work_item__prompt").get(pk=version.held_id)
        current.work_item.project = project
        if current.guideline_version_id == version.pk:
            current.guideline_version = version
        return current
    order = _kind_order(project, kind)
    if not order:
        return None
    claim = functools.partial(
        _claim_postgres if connection.vendor == "postgresql" else _claim_portable,
        reviews=role_can(role, Capability.REVIEW),
        track=track,
    )
    # Gold items (known answers) come at the project's rate, mixed in and looking like any other
    # item; they are never handed out as ordinary work.
    gold_first = project.gold_rate > 0 and random.random() < project.gold_rate
    reclaimed = False
    for _attempt in range(5):
        outcome = _claim_round(claim, project, user, version, order, gold_first)
        if isinstance(outcome, Assignment):
            return outcome
        if outcome is None:  # nothing open for this user
            if reclaimed:
                return None
            # Before saying "nothing left", free the slots of leases that ran out.
            reclaimed = True
            if not assignments_expire(project=project):
                return None
        # else RETRY: someone took the last slot of the picked item first
    return None


_RETRY = "retry"


def _claim_round(claim, project, user, version, order: list[list[str]], gold_first: bool):
    """One try: a gold item of any kind asked for (at the gold rate), else each kind in `order` until
    one gives an assignment or a retry. A statement per kind tried: the second only when the first
    had nothing for this labeler."""
    if gold_first:
        outcome = claim(project, user, [k for kinds in order for k in kinds], True, version)
        if outcome is not None:
            return outcome
    for kinds in order:
        outcome = claim(project, user, kinds, False, version)
        if outcome is not None:
            return outcome
    return None


@transaction.atomic
def _claim_portable(project, user, kinds, gold, version, reviews=False, track=""):
    """The claim in ORM steps, for SQLite (`make run`): pick, conditional UPDATE of the slot count,
    then the labeler's assignment (a fresh row, or their expired one back)."""
    ids = list(_candidate_items(project, user, kinds, 1, gold, reviews, track))
    if not ids:
        return None
    if not WorkItem.objects.filter(pk=ids[0], taken__lt=F("overlap")).update(taken=F("taken") + 1):
        return _RETRY
    item = WorkItem.objects.select_related("prompt").get(pk=ids[0])
    item.project = project
    now, order = timezone.now(), list(item.candidate_ids)
    random.shuffle(order)
    values = {
        "status": AssignmentStatus.ACTIVE, "claimed_at": now, "display_order": order, "guideline_version": version,
        "lease_expires_at": now + timedelta(minutes=project.lease_minutes), "submitted_at": None,
    }  # fmt: skip
    if Assignment.objects.filter(work_item=item, user=user, status=AssignmentStatus.EXPIRED).update(**values):
        assignment = Assignment.objects.get(work_item=item, user=user)
    else:
        try:
            assignment = Assignment.objects.create(work_item=item, user=user, **values)
        except IntegrityError:
            raise Conflict("A concurrent claim for this item collided; ask for the next task again.") from None
    assignment.work_item = item
    assignment.guideline_version = version
    return assignment


_CLAIM_SQL = """
WITH pick AS (
  SELECT wi.id FROM labeling_workitem wi
  WHERE wi.project_id = %(project)s AND wi.kind = ANY(%(kinds)s) AND wi.taken < wi.overlap
    AND wi.is_gold = %(gold)s {on_track}
    AND NOT EXISTS (
      SELECT 1 FROM labeling_assignment a
      WHERE a.work_item_id = wi.id AND a.user_id = %(user)s AND a.status <> 'expired'
      OFFSET 0
    )
    AND NOT EXISTS (
      SELECT 1 FROM labeling_label l WHERE l.work_item_id = wi.id {seen_by} OFFSET 0
    )
  ORDER BY wi.id
  LIMIT 1
  FOR UPDATE OF wi SKIP LOCKED
), item AS (
  UPDATE labeling_workitem w SET taken = w.taken + 1
  FROM pick WHERE w.id = pick.id AND w.taken < w.overlap
  RETURNING w.*
), claimed AS (
  INSERT INTO labeling_assignment AS a (
    created_at, updated_at, work_item_id, user_id, status, claimed_at, lease_expires_at, display_order,
    guideline_version_id, skip_reason, draft, draft_saved_at, submitted_at
  )
  SELECT %(now)s, %(now)s, item.id, %(user)s, 'active', %(now)s, %(expires)s,
    COALESCE((SELECT jsonb_agg(c ORDER BY random()) FROM jsonb_array_elements(item.candidate_ids) c), '[]'),
    %(version)s, '', NULL, NULL, NULL
  FROM item
  ON CONFLICT (work_item_id, user_id) DO UPDATE SET
    status = 'active', claimed_at = EXCLUDED.claimed_at, lease_expires_at = EXCLUDED.lease_expires_at,
    display_order = EXCLUDED.display_order, guideline_version_id = EXCLUDED.guideline_version_id,
    submitted_at = NULL, updated_at = EXCLUDED.updated_at
  WHERE a.status = 'expired'
  RETURNING a.*
)
SELECT {claimed}, {item}, {prompt}
FROM item JOIN prompts_prompt p ON p.id = item.prompt_id LEFT JOIN claimed ON true
"""
# One statement: the first open item for this user that no concurrent claimer holds (the partial
# index work_item_open; OFFSET 0 keeps the NOT EXISTS a per-row probe of assignment_unique_item_user
# (work_item_id, user_id) for the few open items walked: without it PostgreSQL plans a merge
# anti-join which reads every assignment of the project's history, 330 ms a claim with 3M
# assignments, bench/bench_scale.py), its slot (the conditional UPDATE), and the labeler's
# assignment: a new row, or their expired one back (ON CONFLICT ... WHERE expired). The candidates
# are shown in a random order per labeler. Blind labeling: an item with a label this user may have
# seen in review is skipped (SEEN_IN_REVIEW), one more index probe per open item walked.
_SEEN_BY_REVIEWER = ""  # any label: the review queue may have shown it to them
_SEEN_BY_OTHERS = "AND l.reviewed_by_id = %(user)s"  # no longer a reviewer: the labels they reviewed
# The labeler chose a track: one primary-key probe of the item's prompt per open item walked (the
# queue index has no track; see docs/DEVELOPING.md for the plan at scale).
_ON_TRACK = "AND EXISTS (SELECT 1 FROM prompts_prompt pt WHERE pt.id = wi.prompt_id AND pt.track = %(track)s)"


@functools.cache
def _claim_columns() -> tuple[Columns, ...]:
    return Columns(Assignment, "claimed"), Columns(WorkItem, "item"), Columns(Prompt, "p")


@transaction.atomic
def _claim_postgres(project, user, kinds, gold, version, reviews=False, track=""):
    now = timezone.now()
    params = {
        "project": project.pk, "kinds": list(kinds), "gold": gold, "user": user.pk, "now": now,
        "expires": now + timedelta(minutes=project.lease_minutes), "version": version.pk, "track": track,
    }  # fmt: skip
    columns = _claim_columns()
    with connection.cursor() as cursor:
        seen_by = _SEEN_BY_REVIEWER if reviews else _SEEN_BY_OTHERS
        sql = _CLAIM_SQL.format(
            claimed=columns[0], item=columns[1], prompt=columns[2], seen_by=seen_by, on_track=_ON_TRACK if track else ""
        )
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        # Nothing open for this user. (An item the pick locks has a free slot: FOR UPDATE re-checks
        # `taken < overlap` on the row's latest version, so the UPDATE beside it cannot miss.)
        return None
    if row[0] is None:
        # The same labeler claiming in two tabs at once: roll the slot back.
        raise Conflict("A concurrent claim for this item collided; ask for the next task again.")
    assignment, item, prompt = instances(row, *columns)
    item.prompt, item.project = prompt, project
    assignment.work_item, assignment.guideline_version = item, version
    return assignment


# --- drafts, skips, submissions ------------------------------------------------------------------


_OWN_ASSIGNMENT_SQL = """
SELECT {assignment}, {item}, {project}, {prompt}, {version}, m.role,
  EXISTS (SELECT 1 FROM quality_quarantine q
          WHERE q.project_id = w.project_id AND q.user_id = a.user_id AND q.active) AS quarantined
FROM labeling_assignment a
JOIN labeling_workitem w ON w.id = a.work_item_id
JOIN projects_project p ON p.id = w.project_id
JOIN prompts_prompt pr ON pr.id = w.prompt_id
LEFT JOIN projects_guidelineversion gv ON gv.id = a.guideline_version_id
LEFT JOIN projects_membership m ON m.project_id = w.project_id AND m.user_id = a.user_id
WHERE a.user_id = %s AND {key} = %s
LIMIT 1
{lock}
"""


@functools.cache
def _own_assignment_columns() -> tuple[Columns, ...]:
    return (
        Columns(Assignment, "a"), Columns(WorkItem, "w"), Columns(Project, "p"), Columns(Prompt, "pr"),
        Columns(GuidelineVersion, "gv", defer=("content", "change_note")),
    )  # fmt: skip


def _own_assignment(*, assignment_id=None, work_item_id=None, user: User, lock: bool = False) -> Assignment:
    """The user's own assignment, by its id or by its work item's id (404 for anyone else), with
    its work item, project, prompt and guideline version; `lock` holds the assignment's row
    (FOR UPDATE) until the transaction ends. Refused unless the user may still label in the project
    (labeler_standing_check, read by the same statement: their membership's role, a quarantine).
    One statement: see core/rawsql.py for why it is SQL."""
    if assignment_id is not None:
        key, value = "a.id", id_or_404(assignment_id, label="Task")
    else:
        key, value = "a.work_item_id", id_or_404(work_item_id, label="Task")
    columns = _own_assignment_columns()
    sql = _OWN_ASSIGNMENT_SQL.format(
        assignment=columns[0], item=columns[1], project=columns[2], prompt=columns[3], version=columns[4], key=key,
        lock="FOR UPDATE OF a" if lock and connection.features.has_select_for_update_of else "",
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, value])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Task not found.")
    labeler_standing_check(role=row[-2], quarantined=bool(row[-1]))
    assignment, item, project, prompt, version = instances(row[:-2], *columns)
    item.project, item.prompt = project, prompt
    assignment.work_item = item
    assignment.guideline_version = version if assignment.guideline_version_id is not None else None
    return assignment


def _ensure_live(assignment: Assignment) -> None:
    """The assignment may still take a label: active, or expired with its slot still free. An
    expired one is only reopened for a labeler who may still label, as of this very UPDATE (a removal,
    demotion or quarantine that committed since _own_assignment read their standing counts too)."""
    if assignment.status == AssignmentStatus.ACTIVE:
        return
    if assignment.status == AssignmentStatus.EXPIRED:
        project_id, user_id = OuterRef("project_id"), assignment.user_id
        labeler = Membership.objects.filter(project_id=project_id, user_id=user_id, role__in=LABELING_ROLES)
        paused = Quarantine.objects.filter(project_id=project_id, user_id=user_id, active=True)
        reopen = WorkItem.objects.filter(Exists(labeler), pk=assignment.work_item_id, taken__lt=F("overlap"))
        if reopen.exclude(Exists(paused)).update(taken=F("taken") + 1):
            assignment.status = AssignmentStatus.ACTIVE
            return
        raise Conflict(
            "Your time on this task ran out and it went to someone else. Copy your text; it was not saved.",
            extra={"reason": "lease_expired"},
        )
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise Conflict("This task was already submitted (in another tab?).", extra={"reason": "already_submitted"})
    raise Conflict(f"This task is {assignment.status}.", extra={"reason": assignment.status})


@transaction.atomic
def draft_save(*, user: User, payload: dict, assignment_id=None, work_item_id=None) -> Assignment:
    assignment = _own_assignment(assignment_id=assignment_id, work_item_id=work_item_id, user=user, lock=True)
    if assignment.status != AssignmentStatus.ACTIVE:
        raise Conflict("This task is no longer open; the draft was not saved.", extra={"reason": assignment.status})
    if not isinstance(payload, dict) or len(str(payload)) > MAX_TEXT * 2:
        raise ApplicationError("A draft is a JSON object of reasonable size.")
    problem = first_unstorable(payload, "draft")
    if problem:
        raise ApplicationError(f"The draft cannot be stored: {problem}.")
    assignment.draft = payload
    assignment.draft_saved_at = timezone.now()
    assignment.save(update_fields=["draft", "draft_saved_at", "updated_at"])
    return assignment


@transaction.atomic
def work_item_skip(*, user: User, reason: str, assignment_id=None, work_item_id=None) -> Assignment:
    assignment = _own_assignment(assignment_id=assignment_id, work_item_id=work_item_id, user=user, lock=True)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ApplicationError(
            "Say why you skip (one line helps the admins).", extra={"fields": {"reason": ["Required."]}}
        )
    if assignment.status == AssignmentStatus.SKIPPED:
        return assignment
    if assignment.status != AssignmentStatus.ACTIVE:
        raise Conflict(f"This task is {assignment.status}; it cannot be skipped.")
    assignment.status = AssignmentStatus.SKIPPED
    assignment.skip_reason = reason[:500]
    assignment.save(update_fields=["status", "skip_reason", "updated_at"])
    WorkItem.objects.filter(pk=assignment.work_item_id, taken__gt=0).update(taken=F("taken") - 1)
    return assignment


def _text(value, field: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(f"{field} must be text.", extra={"fields": {field: ["Must be a string."]}})
    reason = unstorable_reason(value)
    if reason:
        raise ApplicationError(f"{field} {reason}.", extra={"fields": {field: [reason]}})
    if len(value) > MAX_TEXT:
        raise ApplicationError(f"{field} is longer than {MAX_TEXT} characters.")
    if required and not value.strip():
        raise ApplicationError(f"{field} is empty.", extra={"fields": {field: ["Required."]}})
    return value.replace("\r\n", "\n")


def _existing_label(assignment: Assignment) -> Label | None:
    """The label already stored for this assignment (a replayed submit). Only a submitted
    assignment has one (the label and the status change are written in one transaction), or one
    whose label a reviewer rejected since."""
    if assignment.status not in (AssignmentStatus.SUBMITTED, AssignmentStatus.REJECTED):
        return None
    label = Label.objects.filter(assignment=assignment).first()
    if label is not None and label.guideline_version_id == assignment.guideline_version_id:
        label.guideline_version = assignment.guideline_version  # already loaded: the response shows it
    return label


def _source_candidate(assignment: Assignment, source_candidate_id) -> Candidate | None:
    """The candidate a demonstration starts from ("fix this answer"): one of the prompt's, or none."""
    if source_candidate_id in (None, ""):
        return None
    source_candidate_id = parse_id(source_candidate_id, field="source_candidate")
    source = Candidate.objects.filter(pk=source_candidate_id, prompt_id=assignment.work_item.prompt_id).first()
    if source is None:
        raise ApplicationError("source_candidate is not a candidate of this prompt.")
    return source


def _label_base(assignment: Assignment, user: User) -> dict:
    now = timezone.now()
    return {
        "assignment": assignment,
        "work_item": assignment.work_item,
        "project": assignment.work_item.project,
        "user": user,
        "kind": assignment.work_item.kind,
        "guideline_version": assignment.guideline_version,
        "time_on_task_ms": max(0, int((now - assignment.claimed_at).total_seconds() * 1000)),
        "display_order": assignment.display_order,
        "supersedes_id": assignment.reopened_from_id,  # a fix of a rejected label (label_reopen)
    }


def _finish(assignment: Assignment) -> bool:
    """Mark the assignment submitted and count the label; True when the item now has all its labels."""
    assignment.status = AssignmentStatus.SUBMITTED
    assignment.submitted_at = timezone.now()
    assignment.save(update_fields=["status", "submitted_at", "updated_at"])
    if connection.vendor != "postgresql":
        WorkItem.objects.filter(pk=assignment.work_item_id).update(label_count=F("label_count") + 1)
        return True
    with connection.cursor() as cursor:  # the new count in the same round trip (UPDATE ... RETURNING)
        cursor.execute(
            "UPDATE labeling_workitem SET label_count = label_count + 1 WHERE id = %s RETURNING label_count >= overlap",
            [assignment.work_item_id],
        )
        return cursor.fetchone()[0]


def _idempotent(existing: Label, same: bool) -> Label:
    if same:
        existing.replayed = True
        return existing
    raise Conflict("This task was already submitted with different content.", extra={"reason": "already_submitted"})


@transaction.atomic
def demonstration_submit(
    *, user: User, content: str, source_candidate_id=None, assignment_id=None, work_item_id=None
) -> Label:
    """Store the ideal answer. A repeated identical submit returns the label already stored."""
    assignment = _own_assignment(assignment_id=assignment_id, work_item_id=work_item_id, user=user, lock=True)
    if assignment.work_item.kind != WorkKind.DEMONSTRATION:
        raise ApplicationError("This task is a comparison; submit a ranking.")
    content = _text(content, "content")
    source = _source_candidate(assignment, source_candidate_id)
    existing = _existing_label(assignment)
    if existing is not None:
        return _idempotent(
            existing, existing.content == content and existing.source_candidate_id == getattr(source, "pk", None)
        )
    _ensure_live(assignment)
    original = source.content if source else ""
    diff = unified_text(original, content, old_label="original", new_label="edited") if source else ""
    label = Label.objects.create(
        **_label_base(assignment, user), content=content, source_candidate=source, original_content=original, diff=diff
    )
    _finish(assignment)
    return label


def _validate_ranking(assignment: Assignment, payload) -> dict:
    """The Label columns of a comparison submission, checked against the schema of the guideline
    version the task was claimed under (rubric.Schema.validate_comparison: the one place it is done)."""
    item = assignment.work_item
    try:
        comparison = assignment_schema(assignment).validate_comparison(
            candidate_ids=item.candidate_ids, track=item.prompt.track, payload=payload
        )
    except SchemaInvalid as exc:
        raise ApplicationError(str(exc), extra={"fields": exc.fields}) from exc
    return comparison.label_fields()


@transaction.atomic
def ranking_submit(*, user: User, payload: dict, assignment_id=None, work_item_id=None) -> Label:
    assignment = _own_assignment(assignment_id=assignment_id, work_item_id=work_item_id, user=user, lock=True)
    item = assignment.work_item
    if item.kind != WorkKind.COMPARISON:
        raise ApplicationError("This task is a demonstration; submit an answer.")
    data = _validate_ranking(assignment, payload)
    existing = _existing_label(assignment)
    if existing is not None:
        same = all(getattr(existing, key) == value for key, value in data.items())
        return _idempotent(existing, same)
    _ensure_live(assignment)
    label = Label.objects.create(**_label_base(assignment, user), **data)
    if _finish(assignment):  # the item has all its labels: quality checks whether they agree
        comparison_item_completed.send(sender=Label, work_item_id=item.pk, origin=item.origin)
    return label


# --- review ---------------------------------------------------------------------------------------


def _review_gate(project_id: int, reviewer: User) -> None:
    """Reviewers acknowledge the current guidelines like labelers (409 like `work/next`, with the
    version numbers). One query."""
    version = (
        GuidelineVersion.objects.filter(project_id=project_id)
        .order_by("-number")
        .annotate(acked=Exists(GuidelineAcknowledgement.objects.filter(version=OuterRef("pk"), user=reviewer)))
        .values("number", "acked")
        .first()
    )
    if version is not None and not version["acked"]:
        acked = (
            GuidelineAcknowledgement.objects.filter(version__project_id=project_id, user=reviewer)
            .order_by("-version__number")
            .values_list("version__number", flat=True)
            .first()
        )
        raise GuidelinesNotAcknowledged(
            f"Read and acknowledge guidelines version {version['number']} before reviewing.",
            extra={"current_version": version["number"], "acknowledged_version": acked},
        )


@transaction.atomic
def label_review(*, label_id, reviewer: User, accept: bool, comment: str = "") -> Label:
    """Accept a label, or reject it with a comment: its slot is freed and the item goes back to the
    queue for others (the original labeler never gets it again)."""
    label_id = id_or_404(label_id, label="Label")
    label = Label.objects.select_for_update().filter(pk=label_id).first()
    if label is None:
        raise NotFound("Label not found.")
    try:
        project_access(user=reviewer, project_id=label.project_id, capability=Capability.REVIEW)
    except NotFound as exc:
        raise NotFound("Label not found.") from exc
    if label.user_id == reviewer.pk:
        raise Forbidden("You cannot review your own label.")
    _review_gate(label.project_id, reviewer)
    if Assignment.objects.filter(work_item_id=label.work_item_id, user=reviewer, status__in=OPEN_TO_THEM).exists():
        # Blind labeling: the item may still get their own label (see selectors.review_queue).
        raise Conflict("You may still label this item yourself; its labels are not shown to you until you do.")
    if label.review_status != ReviewStatus.PENDING:
        raise Conflict(f"This label was already {label.review_status}.")
    comment = (comment or "").strip() if isinstance(comment, str) else ""
    if not accept and not comment:
        raise ApplicationError("Say why the label is rejected.", extra={"fields": {"comment": ["Required."]}})
    label.review_status = ReviewStatus.ACCEPTED if accept else ReviewStatus.REJECTED
    label.reviewed_by = reviewer
    label.review_comment = comment[:2000]
    label.reviewed_at = timezone.now()
    label.save(update_fields=["review_status", "reviewed_by", "review_comment", "reviewed_at", "updated_at"])
    if not accept:
        Assignment.objects.filter(pk=label.assignment_id).update(status=AssignmentStatus.REJECTED)
        WorkItem.objects.filter(pk=label.work_item_id, taken__gt=0, label_count__gt=0).update(
            taken=F("taken") - 1, label_count=F("label_count") - 1
        )
    return label


# --- choosing work ----------------------------------------------------------------------------------


def work_preference_set(*, project: Project, user: User, kind: str, track: str) -> WorkPreference:
    """Store the kind of work and the track the labeler wants ("" = anything); every claim of theirs
    in the project honours it until they change it. A track must be one of the current schema's."""
    _ensure_labeler(project, user)
    kind, track = (kind or "").strip(), (track or "").strip()
    if kind not in WorkChoice.values:
        raise ApplicationError(f"kind: {kind!r} is not a kind of work.", extra={"fields": {"kind": ["Unknown."]}})
    if track:
        version = GuidelineVersion.objects.filter(project=project).order_by("-number").only("schema").first()
        names = schema_of(version.schema if version is not None else None).track_names
        if track not in names:
            raise ApplicationError(
                f"track: {track!r} is not a track of the current guidelines.",
                extra={"fields": {"track": [f"One of: {', '.join(names)}."]}},
            )
    preference, _created = WorkPreference.objects.update_or_create(
        project=project, user=user, defaults={"kind": kind, "track": track}
    )
    return preference


# --- fixing a rejected label, amending a submitted one ----------------------------------------------


def _take_slot_again(assignment: Assignment) -> bool:
    """The conditional UPDATE of a claim, for the labeler's own assignment: a free slot, while they
    may still label and are not paused, as of this very statement."""
    project_id, user_id = OuterRef("project_id"), assignment.user_id
    labeler = Membership.objects.filter(project_id=project_id, user_id=user_id, role__in=LABELING_ROLES)
    paused = Quarantine.objects.filter(project_id=project_id, user_id=user_id, active=True)
    reopen = WorkItem.objects.filter(Exists(labeler), pk=assignment.work_item_id, taken__lt=F("overlap"))
    return bool(reopen.exclude(Exists(paused)).update(taken=F("taken") + 1))


def _not_seen_in_review(assignment: Assignment, user: User) -> None:
    """Blind labeling (SEEN_IN_REVIEW, as the claims follow it): a labeler who may have seen other
    labels of the item in review (any, for a role that reviews; those they reviewed, otherwise) does
    not label it again."""
    role = Membership.objects.filter(project_id=assignment.work_item.project_id, user=user).values("role")
    seen = Label.objects.filter(work_item_id=assignment.work_item_id).exclude(user=user)
    if not role_can(next(iter(role), {}).get("role", ""), Capability.REVIEW):
        seen = seen.filter(reviewed_by=user)
    if seen.exists():
        raise Conflict(
            "Others' labels of this item may have been shown to you in review, so it cannot be labeled by you again.",
            extra={"reason": "seen_in_review"},
        )


@transaction.atomic
def label_reopen(*, user: User, label_id) -> Assignment:
    """Reopen the assignment of the user's own label that a reviewer rejected, to fix it: the same
    assignment (one per item and labeler, ever) active again with a fresh lease, under the current
    guidelines (their schema applies), the rejected answers as its draft; the rejected label stays as
    history and the fixed one `supersedes` it. Refused (409) when the item no longer wants a label
    (no free slot: the claim's conditional UPDATE), when the current guidelines are not acknowledged,
    and (403/404) when the user may no longer label in the project. Reopening twice is harmless."""
    label_id = id_or_404(label_id, label="Label")
    label = Label.objects.filter(pk=label_id, user=user).first()
    if label is None:
        raise NotFound("Label not found.")
    assignment = _own_assignment(assignment_id=label.assignment_id, user=user, lock=True)
    if assignment.status == AssignmentStatus.ACTIVE and assignment.reopened_from_id == label.pk:
        return assignment  # reopened already (a second click, another tab)
    if label.review_status != ReviewStatus.REJECTED:
        raise Conflict(
            f"Only a label rejected in review can be reopened; this one is {label.review_status}.",
            extra={"reason": "not_rejected"},
        )
    if Label.objects.filter(assignment=assignment, pk__gt=label.pk).exists():
        raise Conflict("You already fixed and resubmitted this label.", extra={"reason": "already_fixed"})
    if assignment.status != AssignmentStatus.REJECTED:  # rejected by adjudication: the item is settled
        raise Conflict(
            "This label was set aside when a reviewer settled the item's disagreement; it cannot be fixed.",
            extra={"reason": "adjudicated"},
        )
    project = assignment.work_item.project
    version = _gate(_labeler_state(project, user), project, user)
    _not_seen_in_review(assignment, user)
    if not _take_slot_again(assignment):
        raise Conflict(
            "This item has all the labels it needs now, so this label cannot be fixed any more.",
            extra={"reason": "item_full"},
        )
    now = timezone.now()
    assignment.status, assignment.submitted_at = AssignmentStatus.ACTIVE, None
    assignment.claimed_at, assignment.lease_expires_at = now, now + timedelta(minutes=project.lease_minutes)
    assignment.guideline_version = version
    assignment.draft, assignment.draft_saved_at = label_as_draft(label), now
    assignment.reopened_from = label
    assignment.save(
        update_fields=[
            "status", "submitted_at", "claimed_at", "lease_expires_at", "guideline_version", "draft",
            "draft_saved_at", "reopened_from", "updated_at",
        ]
    )  # fmt: skip
    return assignment


@transaction.atomic
def work_item_resume(*, user: User, work_item_id=None, assignment_id=None) -> Assignment:
    """Back to a task the user just skipped, while its lease runs ("back to my previous task"): active
    again, its slot taken back with the claim's conditional UPDATE (409 when someone took it since)."""
    assignment = _own_assignment(assignment_id=assignment_id, work_item_id=work_item_id, user=user, lock=True)
    if assignment.status == AssignmentStatus.ACTIVE:
        return assignment
    if assignment.status != AssignmentStatus.SKIPPED:
        raise Conflict(
            f"Only a skipped task can be resumed; this one is {assignment.status}.", extra={"reason": assignment.status}
        )
    if assignment.lease_expires_at <= timezone.now():
        raise Conflict("The time to go back to this task ran out with its lease.", extra={"reason": "lease_expired"})
    if not _take_slot_again(assignment):
        raise Conflict("Someone else took this task since you skipped it.", extra={"reason": "item_full"})
    assignment.status, assignment.skip_reason = AssignmentStatus.ACTIVE, ""
    assignment.save(update_fields=["status", "skip_reason", "updated_at"])
    return assignment


def _amendable_label(assignment: Assignment, kind: str) -> Label:
    """The label an amend replaces: the user's pending label of a task they submitted, while the
    task's lease runs. 409 naming why otherwise."""
    if assignment.work_item.kind != kind:
        raise ApplicationError(f"This task is a {assignment.work_item.kind}.")
    if assignment.status != AssignmentStatus.SUBMITTED:
        raise Conflict(
            f"Only a submitted task can be amended; this one is {assignment.status}.", extra={"reason": "not_submitted"}
        )
    label = Label.objects.filter(assignment=assignment).exclude(review_status=ReviewStatus.REJECTED).first()
    if label is None or label.review_status != ReviewStatus.PENDING:
        raise Conflict("This label was already reviewed; it can no longer be amended.", extra={"reason": "reviewed"})
    if assignment.lease_expires_at <= timezone.now():
        raise Conflict("The time to amend this task ran out with its lease.", extra={"reason": "lease_expired"})
    return label


def _amend(label: Label, fields: dict) -> Label:
    for key, value in fields.items():
        setattr(label, key, value)
    label.save(update_fields=[*fields, "updated_at"])
    label.amended = True
    return label


@transaction.atomic
def ranking_amend(*, user: User, payload: dict, work_item_id=None, assignment_id=None) -> Label:
    """Replace the user's submitted, not yet reviewed comparison label while the task's lease runs
    ("back to my previous task"): the same row, so statistics and agreement see the amended label
    only; the item's disagreement check runs again when it has all its labels."""
    assignment = _own_assignment(assignment_id=assignment_id, work_item_id=work_item_id, user=user, lock=True)
    label = _amendable_label(assignment, WorkKind.COMPARISON)
    label = _amend(label, _validate_ranking(assignment, payload))
    item = WorkItem.objects.filter(pk=assignment.work_item_id).values("label_count", "overlap").get()
    if item["label_count"] >= item["overlap"]:
        comparison_item_completed.send(sender=Label, work_item_id=assignment.work_item_id)
    return label


@transaction.atomic
def demonstration_amend(
    *, user: User, content: str, source_candidate_id=None, work_item_id=None, assignment_id=None
) -> Label:
    """Replace the user's submitted, not yet reviewed answer while the task's lease runs."""
    assignment = _own_assignment(assignment_id=assignment_id, work_item_id=work_item_id, user=user, lock=True)
    label = _amendable_label(assignment, WorkKind.DEMONSTRATION)
    content = _text(content, "content")
    source = _source_candidate(assignment, source_candidate_id)
    original = source.content if source else ""
    diff = unified_text(original, content, old_label="original", new_label="edited") if source else ""
    fields = {"content": content, "source_candidate": source, "original_content": original, "diff": diff}
    return _amend(label, fields)
