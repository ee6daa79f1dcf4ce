from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.exceptions import Forbidden, NotFound
from labelhub.core.ids import id_or_404, parse_cursor
from labelhub.core.markdown import render_markdown
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
    WorkPurpose,
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


def _html(text) -> str:
    """Conversation text as the workbench shows it: Markdown, single line breaks kept, sanitized
    (core.markdown, the renderer of every page); dom.js copies only the allow-listed nodes."""
    return _rendered(text) if isinstance(text, str) else ""


@lru_cache(maxsize=512)
def _rendered(text: str) -> str:
    # Prompts and candidates never change and each is served to `overlap` labelers (and again on a
    # resume): ~1.4 ms for a 1,600-character answer, rendered once per process.
    return render_markdown(text, breaks=True)


def _with_html(message) -> dict:
    return {**message, "html": _html(message.get("content"))} if isinstance(message, dict) else message


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
        "messages": [_with_html(message) for message in prompt.messages],
        "candidates": [{"id": c.pk, "content": c.content, "html": _html(c.content)} for c in ordered],
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
        "fix": _fix_of(item),
    }


def _fix_of(item: WorkItem) -> dict | None:
    """A fix-it task (an evaluation's triage sent this answer to be fixed): the answer to start from
    and why it was condemned; never which model wrote it. None for any other item."""
    if item.purpose != WorkPurpose.FIX or not item.candidate_ids:
        return None
    origin = item.origin if isinstance(item.origin, dict) else {}
    return {
        "candidate": item.candidate_ids[0],
        "reasons": [str(r) for r in origin.get("reasons") or ()],
        "flags": [str(f) for f in origin.get("flags") or ()],
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
    served = work_kinds(project)
    kinds = [(c.value, c.label) for c in WorkChoice if not c.value or c.value in served]
    empty = ""
    if kind or track:
        what = f"No {KIND_PLURAL.get(kind, 'tasks')} left" if kind else "Nothing left"
        where = f" on the {dict(tracks)[track]} track" if track else ""
        empty = f"{what} for you{where}; switch to anything?"
    return {"kind": kind, "track": track, "kinds": kinds, "tracks": tracks, "empty_message": empty}


def work_kinds(project: Project) -> list[str]:
    """The kinds of work the project serves (the claim's and the progress line's)."""
    kinds = []
    if project.comparisons_enabled:
        kinds.append(WorkKind.COMPARISON)
    if project.demonstrations_enabled:
        kinds.append(WorkKind.DEMONSTRATION)
    return kinds


def labeling_progress(*, project: Project, user: User) -> dict:
    """Two counts whose cost does not grow with the project: the user's labels of the last 24 hours
    (an index range, label_by_user_time) and the items left for *them*, counted up to 10,000
    ("10,000+"): the task they hold, plus the open items of a kind the project serves that they have
    no assignment on (an expired one of theirs can be claimed back). Each submit or skip takes one
    off, whether the next claim has happened yet or not."""
    since = timezone.now() - timedelta(hours=24)
    mine = Assignment.objects.filter(user=user, work_item=OuterRef("pk"))
    still_open = Q(taken__lt=F("overlap")) & ~Exists(mine.exclude(status=AssignmentStatus.EXPIRED))
    held = Exists(mine.filter(status=AssignmentStatus.ACTIVE))
    left = WorkItem.objects.filter(project=project, kind__in=work_kinds(project)).filter(still_open | held)
    return {
        "my_labels_today": Label.objects.filter(project=project, user=user, created_at__gte=since).count(),
        "items_left": bounded_count(left),
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


@dataclass(frozen=True)
class ReviewFilters:
    """What the review queue is narrowed to (empty: everything). `flag` is an option of the schema's
    flags question, or ANY_FLAG / UNSAFE (see review_queue_filter)."""

    labeler: str = ""  # a username
    track: str = ""
    kind: str = ""
    flag: str = ""
    version: int | None = None  # a guideline version number


ANY_FLAG = "~any"  # any option of the flags question ticked on some answer
UNSAFE = "~unsafe"  # some answer judged unsafe


class JsonHolds(Func):
    """Does a {candidate: [option, …]} (Label.flags) or {candidate: verdict} (Label.safety) column
    hold `value` among its values (no value: any string at all)? A condition, not a query; the SQLite
    twin is tested in tests/labeling/test_review_queue.py."""

    output_field = BooleanField()
    VALUE_SQL = {
        "postgresql": "jsonb_path_exists({col}, '$.*[*] ? (@ == $v)', jsonb_build_object('v', ({value})::text))",
        "sqlite": "EXISTS (SELECT 1 FROM json_tree({col}) t WHERE t.type = 'text' AND t.atom = {value})",
    }
    ANY_SQL = {
        "postgresql": "jsonb_path_exists({col}, '$.*[*]')",
        "sqlite": "EXISTS (SELECT 1 FROM json_tree({col}) t WHERE t.type = 'text')",
    }

    def __init__(self, column: str, value: str | None = None):
        super().__init__(F(column), *([Value(value)] if value is not None else []))

    def as_sql(self, compiler, connection, **extra):
        (col, params), *rest = [compiler.compile(e) for e in self.get_source_expressions()]
        if not rest:
            return self.ANY_SQL[connection.vendor].format(col=col), tuple(params)
        value, value_params = rest[0]
        return self.VALUE_SQL[connection.vendor].format(col=col, value=value), (*params, *value_params)


def review_queue_filter(queue: QuerySet[Label], filters: ReviewFilters) -> QuerySet[Label]:
    """Narrow a review queue; the filters combine (AND)."""
    if filters.labeler:
        queue = queue.filter(user__username=filters.labeler)
    if filters.track:
        queue = queue.filter(work_item__prompt__track=filters.track)
    if filters.kind:
        queue = queue.filter(kind=filters.kind)
    if filters.version is not None:
        queue = queue.filter(guideline_version__number=filters.version)
    if filters.flag == UNSAFE:
        queue = queue.filter(JsonHolds("safety", "unsafe"))
    elif filters.flag:
        queue = queue.filter(JsonHolds("flags", None if filters.flag == ANY_FLAG else filters.flag))
    return queue


def review_queue_page(
    *,
    project: Project,
    reviewer: User,
    limit: int = 20,
    filters: ReviewFilters | None = None,
    after=None,
    before=None,
) -> dict:
    """One page of `limit` labels waiting for `reviewer` (see review_queue), oldest first: the first
    page, the page after label id `after`, or the page before label id `before` (keyset: constant
    cost at any depth; a malformed cursor is a 404). With the candidates the labels refer to
    (compared, or the source of a fixed answer), the cursors of the pages around it (None: no such
    page) and the filtered queue's length, counted up to 1,000 ("1,000+": a project with millions of
    pending labels must not count them on every page). Five queries at most, whatever `limit`."""
    queue = review_queue_filter(review_queue(project=project, reviewer=reviewer), filters or ReviewFilters())
    after, before = parse_cursor(after, field="after"), parse_cursor(before, field="before")
    rows = queue.select_related("guideline_version")
    if before is not None:
        labels = list(rows.filter(pk__lt=before).order_by("-id")[: limit + 1])[::-1]
        has_prev, labels = len(labels) > limit, labels[-limit:]
        has_next = True
    else:
        labels = list((rows.filter(pk__gt=after) if after is not None else rows)[: limit + 1])
        has_next, labels = len(labels) > limit, labels[:limit]
        has_prev = after is not None and bool(labels) and queue.filter(pk__lt=labels[0].pk).exists()
    ids: set[int] = set()
    for label in labels:
        ids.update(int(cid) for cid in label.work_item.candidate_ids)
        if label.source_candidate_id:
            ids.add(label.source_candidate_id)
    candidates = Candidate.objects.in_bulk(ids) if ids else {}
    return {
        "labels": labels,
        "candidates": candidates,
        "total": bounded_count(queue, cap=1000),
        "next_after": labels[-1].pk if labels and has_next else None,
        "prev_before": labels[0].pk if labels and has_prev else None,
    }
