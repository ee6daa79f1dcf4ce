from datetime import timedelta

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.exceptions import Forbidden, NotFound
from labelhub.core.ids import id_or_404
from labelhub.core.pagination import bounded_count
from labelhub.projects.models import Membership, Project
from labelhub.projects.permissions import Capability, role_can
from labelhub.projects.rubric import FLAGS, Schema, answers_of, schema_of
from labelhub.prompts.models import Candidate

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

PAUSED = "Your labeling in this project is paused by its admins; ask them why."
# A labeler's assignments that still lead to a label of theirs: held now, or expired and claimable
# back (or submittable late while the slot is free). Reviewers are not shown other labels of these items.
OPEN_TO_THEM = (AssignmentStatus.ACTIVE, AssignmentStatus.EXPIRED)


def labeler_standing_check(*, role: str | None, quarantined: bool) -> None:
    """May the holder of an assignment still work on it, as of now: still a member of its project
    (404 otherwise, like any task that is not theirs), in a role that labels, not quarantined (403).
    Every assignment action asks this, whatever the assignment's status."""
    if role is None:
        raise NotFound("Task not found.")
    if not role_can(role, Capability.LABEL):
        raise Forbidden(f"Your role ({role}) does not label in this project.")
    if quarantined:
        raise Forbidden(PAUSED)


def assignment_for_item(*, user: User, work_item_id) -> Assignment:
    """The user's own assignment on a work item (404 for anyone else: blind labeling), while they
    may still label in its project (labeler_standing_check: same query, two subqueries)."""
    work_item_id = id_or_404(work_item_id, label="Task")
    project_id = OuterRef("work_item__project_id")
    assignment = (
        Assignment.objects.select_related("work_item__prompt", "work_item__project", "guideline_version")
        .filter(work_item_id=work_item_id, user=user)
        .annotate(
            member_role=Subquery(Membership.objects.filter(project_id=project_id, user=user).values("role")[:1]),
            quarantined=Exists(Quarantine.objects.filter(project_id=project_id, user=user, active=True)),
        )
        .first()
    )
    if assignment is None:
        raise NotFound("Task not found.")
    labeler_standing_check(role=assignment.member_role, quarantined=assignment.quarantined)
    return assignment


def assignment_schema(assignment: Assignment) -> Schema:
    """The labeling schema a task was claimed under (its guideline version's; parsed once per process)."""
    version = assignment.guideline_version
    return schema_of(version.schema if version is not None else None)


def label_as_draft(label: Label) -> dict:
    """A label as a workbench draft (static/js/workbench/drafts.js `collect`): what a reopened task
    starts from."""
    if label.kind == WorkKind.DEMONSTRATION:
        return {"kind": "demonstration", "content": label.content, "source_candidate": label.source_candidate_id}
    return {
        "kind": "comparison",
        "ranks": dict(label.ranks),
        "answers": {cid: answers_of(label.ratings, label.flags, cid) for cid in label.ranks or label.ratings},
        "safety": dict(label.safety),
        "strength": label.strength,
        "all_bad": label.all_bad,
        "rationale": label.rationale,
    }


def _amendable(assignment: Assignment) -> tuple[bool, dict | None]:
    """A submitted task: may its labeler still amend it (their label pending review, the lease
    running: services._amendable_label), and their label as a draft to start from. One query, only
    for a submitted task (never on the claim's path)."""
    if assignment.status != AssignmentStatus.SUBMITTED:
        return False, assignment.draft
    label = Label.objects.filter(assignment=assignment).exclude(review_status=ReviewStatus.REJECTED).first()
    if label is None:
        return False, assignment.draft
    live = label.review_status == ReviewStatus.PENDING and assignment.lease_expires_at > timezone.now()
    return live, label_as_draft(label)


def task_payload(*, assignment: Assignment) -> dict:
    """What a labeler sees for one task: the conversation and the candidates in their display order.
    Nothing about other labelers' labels (blind labeling)."""
    item = assignment.work_item
    prompt = item.prompt
    ordered = []
    if item.candidate_ids:
        candidates = {c.pk: c for c in Candidate.objects.filter(pk__in=item.candidate_ids).only("pk", "content")}
        ordered = [candidates[cid] for cid in assignment.display_order if cid in candidates]
    # Demonstrations may start from a candidate ("fix this answer"): offer the prompt's candidates.
    if not ordered and item.kind == "demonstration":
        ordered = list(Candidate.objects.filter(prompt=prompt).only("pk", "content").order_by("id")[:9])
    schema = assignment_schema(assignment)
    flags = schema.question(FLAGS)
    amendable, draft = _amendable(assignment)
    review_comment = ""
    if assignment.reopened_from_id is not None:  # a fix of a rejected label: what the reviewer said
        rejected = Label.objects.filter(pk=assignment.reopened_from_id).values_list("review_comment", flat=True)
        review_comment = next(iter(rejected), "")
    return {
        "id": item.pk,
        "assignment_id": assignment.pk,
        "kind": item.kind,
        "status": assignment.status,
        "prompt_id": prompt.pk,
        "track": prompt.track,
        "messages": prompt.messages,
        "candidates": [{"id": c.pk, "content": c.content} for c in ordered],
        "guideline_version": assignment.guideline_version.number if assignment.guideline_version_id else None,
        "lease_expires_at": assignment.lease_expires_at,
        "claimed_at": assignment.claimed_at,
        "draft": draft,
        "amendable": amendable,
        "schema": schema.as_dict(),
        "questions": [q.name for q in schema.questions_for(prompt.track)],
        "needs_safety": schema.needs_safety(prompt.track),
        # Before schemas: the flags question's options (kept for API clients written then).
        "flags": list(flags.options) if flags is not None and flags.applies_to(prompt.track) else [],
        "reopened_from": assignment.reopened_from_id,
        "review_comment": review_comment,
    }


def my_labels(*, project: Project, user: User) -> QuerySet[Label]:
    """The user's labels in the project, newest first (index label_by_user), with their review and,
    as `fixable`, whether it is a rejected label they may reopen to fix (services.label_reopen: the
    newest label of its assignment, the assignment still rejected; the slot is checked on reopening)."""
    newer = Label.objects.filter(assignment_id=OuterRef("assignment_id"), pk__gt=OuterRef("pk"))
    return (
        Label.objects.filter(project=project, user=user)
        .select_related("work_item__prompt", "assignment")
        .annotate(superseded=Exists(newer))
        .order_by("-id")
    )


MY_LABELS_PAGE = 25


def my_labels_page(*, project: Project, user: User, before=None, limit: int = MY_LABELS_PAGE) -> dict:
    """One page of my_labels, older than label id `before` (a keyset cursor: page 1,000 costs what
    page 1 does), and the cursor of the next page (None on the last)."""
    qs = my_labels(project=project, user=user)
    if before is not None:
        qs = qs.filter(pk__lt=before)
    labels = list(qs[: limit + 1])
    more = len(labels) > limit
    labels = labels[:limit]
    for label in labels:
        label.fixable = (
            label.review_status == ReviewStatus.REJECTED
            and not label.superseded
            and label.assignment.status == AssignmentStatus.REJECTED
        )
        label.reopened = label.assignment.status == AssignmentStatus.ACTIVE and not label.superseded
    return {"labels": labels, "next_before": labels[-1].pk if more else None}


# --- choosing work ---------------------------------------------------------------------------------

KIND_PLURAL = {WorkKind.DEMONSTRATION: "demonstrations", WorkKind.COMPARISON: "comparisons"}


def work_preference(*, project: Project, user: User) -> tuple[str, str]:
    """The (kind, track) the user chose in the project; ("", "") = anything, when they never chose."""
    row = WorkPreference.objects.filter(project=project, user=user).values_list("kind", "track").first()
    return row if row is not None else ("", "")


def work_choice(*, project: Project, user: User, schema: Schema) -> dict:
    """What the workbench's chooser shows: the kinds the project has and the schema's tracks, the
    user's choice (a track the schema no longer has reads as any track, as the claim does), and the
    sentence for when that choice has nothing left."""
    kind, track = work_preference(project=project, user=user)
    tracks = [(t.name, t.label) for t in schema.tracks]
    if track not in dict(tracks):
        track = ""
    kinds = [(c.value, c.label) for c in WorkChoice if not c.value or _kind_enabled(project, c.value)]
    empty = ""
    if kind or track:
        what = f"No {KIND_PLURAL.get(kind, 'tasks')} left" if kind else "Nothing left"
        where = f" on the {dict(tracks)[track]} track" if track else ""
        empty = f"{what} for you{where}; switch to anything?"
    return {"kind": kind, "track": track, "kinds": kinds, "tracks": tracks, "empty_message": empty}


def _kind_enabled(project: Project, kind: str) -> bool:
    if kind == WorkKind.COMPARISON:
        return project.comparisons_enabled
    if kind == WorkKind.DEMONSTRATION:
        return project.demonstrations_enabled
    return False


def labeling_progress(*, project: Project, user: User) -> dict:
    """Two counts whose cost does not grow with the project: the user's labels of the last 24 hours
    (an index range, label_by_user_time) and the open items, counted up to 10,000 ("10,000+")."""
    since = timezone.now() - timedelta(hours=24)
    return {
        "my_labels_today": Label.objects.filter(project=project, user=user, created_at__gte=since).count(),
        "items_open": bounded_count(WorkItem.objects.filter(project=project, taken__lt=F("overlap"))),
    }


def review_queue(*, project: Project, reviewer: User) -> QuerySet[Label]:
    """Pending labels of others, except on items the reviewer may still label (blind labeling): an
    item they hold, or hold expired (OPEN_TO_THEM). Items they never had are safe to show: a
    reviewer is never served an item that has labels (services._candidate_items, the claim SQL)."""
    still_theirs = Assignment.objects.filter(work_item=OuterRef("work_item"), user=reviewer, status__in=OPEN_TO_THEM)
    return (
        Label.objects.filter(project=project, review_status=ReviewStatus.PENDING)
        .exclude(user=reviewer)
        .exclude(Exists(still_theirs))
        .select_related("work_item__prompt", "user")
        .order_by("id")
    )


def review_queue_page(*, project: Project, reviewer: User, limit: int = 20) -> dict:
    """The first `limit` labels waiting for `reviewer` (see review_queue), with the candidates they
    refer to (compared, or the source of a fixed answer) and the queue's length, counted up to 1,000
    ("1,000+": a project with millions of pending labels must not count them on every page). Three
    queries, whatever the length of the queue."""
    queue = review_queue(project=project, reviewer=reviewer)
    labels = list(queue.select_related("guideline_version")[:limit])
    ids: set[int] = set()
    for label in labels:
        ids.update(int(cid) for cid in label.work_item.candidate_ids)
        if label.source_candidate_id:
            ids.add(label.source_candidate_id)
    candidates = Candidate.objects.in_bulk(ids) if ids else {}
    return {"labels": labels, "candidates": candidates, "total": bounded_count(queue, cap=1000)}
