"""The labeler's workbench and the reviewers' queue.

The workbench page is server-rendered up to the task: the guidelines gate (acknowledge the current
version first), the guidelines panel and the progress line. The task itself is driven by
static/js/workbench/ (ES modules) through the JSON API (/api/v1/projects/<id>/work/next, /api/v1/work-items/…),
which calls the same services. The review page is plain server-rendered forms.

Access is checked by `project_view` (404 for non-members, 403 for a role without the capability).
"""

from django.contrib import messages
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from labelhub.core.diff import MAX_ROWS
from labelhub.core.exceptions import ApplicationError
from labelhub.core.ids import InvalidId, parse_id
from labelhub.projects import selectors as project_selectors
from labelhub.projects import services as project_services
from labelhub.projects.decorators import project_context, project_view
from labelhub.projects.permissions import Capability
from labelhub.projects.rubric import Question, Schema, answers_of, schema_of

from . import selectors, services
from .forms import ReviewForm
from .models import Label, WorkKind

REVIEW_PAGE_SIZE = 20


def _workbench_url(project_id: int) -> str:
    return reverse("projects:labeling:workbench", kwargs={"project_id": project_id})


# Workbench ------------------------------------------------------------------------------------

GATE_INLINE_CHARS = 20_000  # the gate renders the whole new version under its diff up to this size


@project_view(Capability.LABEL)
@require_GET
def workbench(request, access):
    """Until the labeler acknowledged the current guidelines: what changed (or the whole version)
    and the acknowledge button, nothing else. Then: the guidelines panel and the task area."""
    project = access.project
    current = project_selectors.guideline_version_current(project=project)
    acked = project_selectors.guideline_acknowledged_number(project=project, user=request.user)
    context = project_context(access, "label", current=current, acknowledged_number=acked, gate=False)
    if current is not None and acked != current.number:
        context["gate"] = True
        if acked:
            context["diff"] = project_selectors.guideline_diff(
                project=project, old_number=acked, new_number=current.number, side_by_side=False
            )
            # Markdown costs ~20 µs a line: a long version is linked, not rendered under the diff.
            context["inline_full"] = len(current.content) <= GATE_INLINE_CHARS
    elif current is not None:
        context["progress"] = selectors.labeling_progress(project=project, user=request.user)
        context["wb_config"] = {
            "projectId": project.pk,
            "nextUrl": reverse("api:work-next", kwargs={"project_id": project.pk}),
            # The item id goes at the end: {itemUrl}{id}/draft etc. (see static/js/workbench/api.js).
            "itemUrl": reverse("api:work-item", kwargs={"work_item_id": 0}).removesuffix("0"),
            "workbenchUrl": _workbench_url(project.pk),
            "preferenceUrl": reverse("api:work-preference", kwargs={"project_id": project.pk}),
            "csrfToken": get_token(request),
            # The version wb-schema belongs to: a task claimed under another one uses its own schema.
            "guidelineVersion": current.number,
        }
        # The schema of the version just read for the gate: no extra query (tests/test_query_counts.py).
        schema = schema_of(current.schema)
        context["wb_schema"] = schema.as_dict()
        context["choice"] = selectors.work_choice(project=project, user=request.user, schema=schema)
        context["wb_config"]["emptyMessage"] = context["choice"]["empty_message"]
        # ?item=<work item id>: open that task of mine (a reopened rejected label) instead of the next.
        item = request.GET.get("item", "")
        if item.isascii() and item.isdigit():
            context["wb_config"]["openItemUrl"] = reverse("api:work-item", kwargs={"work_item_id": int(item)})
    return render(request, "labeling/workbench.html", context)


@project_view(Capability.LABEL)
@require_POST
def acknowledge(request, access):
    try:
        ack = project_services.guideline_acknowledge(
            project=access.project, user=request.user, number=request.POST.get("number", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"You acknowledged version {ack.version.number} of the guidelines. Happy labeling.")
    return redirect(_workbench_url(access.project.pk))


@project_view(Capability.LABEL)
@require_GET
@vary_on_headers("HX-Request")
def progress(request, access):
    """The progress line, for htmx (refreshed after each submit). Without htmx: the workbench."""
    if not request.htmx:
        return redirect(_workbench_url(access.project.pk))
    context = project_context(
        access, "label", progress=selectors.labeling_progress(project=access.project, user=request.user)
    )
    return render(request, "labeling/workbench.html#progress", context)


@project_view(Capability.MANAGE)
@require_POST
def work_items_sync(request, access):
    """Admins: turn prompts (and candidates) added since the last sync into work items now."""
    created = services.work_items_sync(project=access.project)
    total = created["demonstration"] + created["comparison"]
    if total:
        messages.success(
            request,
            f"Added {created['demonstration']} demonstration and {created['comparison']} comparison item(s).",
        )
    else:
        messages.info(request, "Every prompt already has its work items.")
    return redirect(_workbench_url(access.project.pk))


# Choosing work, my labels, fixing a rejected label -----------------------------------------------


@project_view(Capability.LABEL)
@require_POST
def work_preference(request, access):
    """The workbench bar's chooser: store the kind of work and the track, back to the workbench."""
    try:
        services.work_preference_set(
            project=access.project,
            user=request.user,
            kind=request.POST.get("kind", ""),
            track=request.POST.get("track", ""),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(_workbench_url(access.project.pk))


def _excerpt(prompt, limit: int = 140) -> str:
    text = " ".join((prompt.text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@project_view(Capability.LABEL)
@require_GET
def my_labels(request, access):
    """The labeler's own labels, newest first, a page at a time (?before=<label id>), with their review."""
    try:
        before = parse_id(request.GET["before"], field="before") if request.GET.get("before") else None
    except InvalidId:
        before = None
    page = selectors.my_labels_page(project=access.project, user=request.user, before=before)
    rows = [{"label": label, "excerpt": _excerpt(label.work_item.prompt)} for label in page["labels"]]
    context = project_context(access, "my-labels", rows=rows, next_before=page["next_before"], paged=before is not None)
    return render(request, "labeling/my_labels.html", context)


@project_view(Capability.LABEL)
@require_POST
def label_reopen(request, access, label_id: int):
    """Reopen a rejected label of mine to fix it: the workbench opens that task, pre-filled."""
    mine = reverse("projects:labeling:mine", kwargs={"project_id": access.project.pk})
    if not Label.objects.filter(project=access.project, user=request.user, pk=label_id).exists():
        raise Http404("Label not found.")
    try:
        assignment = services.label_reopen(user=request.user, label_id=label_id)
    except ApplicationError as exc:
        messages.error(request, f"Label #{label_id}: {exc.message}")
        return redirect(mine)
    return redirect(f"{_workbench_url(access.project.pk)}?item={assignment.work_item_id}")


# Review ---------------------------------------------------------------------------------------


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    """A stored unified diff as (css class, line) pairs, rendered escaped by the template (its first
    MAX_ROWS lines: a page of reviews stays small)."""
    return project_selectors.classify_diff_lines(diff.splitlines()[:MAX_ROWS])


def _label_schema(label) -> Schema:
    """The schema a label was written under: its guideline version's (never the project's current one)."""
    version = label.guideline_version
    return schema_of(version.schema if version is not None else None)


def _answer_text(q: Question, value) -> str:
    if q.type == "scale":
        point = q.point_labels.get(value, "") if isinstance(value, int) else ""
        return f"{value} ({point})" if point else str(value)
    if q.type == "binary":
        return "yes" if value else "no"
    return str(value)


def _answer_cells(schema: Schema, track: str, answers: dict) -> list[dict]:
    """One candidate's answers as the review page shows them: every question its track asks, in the
    schema's order, with the label, the answer as text (options as a list) and the scale's range."""
    cells = []
    for q in schema.questions_for(track):
        value = answers.get(q.name)
        answered = q.answered(value)
        cells.append(
            {
                "label": q.label,
                "type": q.type,
                "answered": answered,
                "text": _answer_text(q, value) if answered and q.type != "multi" else "",
                "options": [str(v) for v in value] if answered and q.type == "multi" else [],
                "range": f"{q.min}–{q.max}" if q.type == "scale" else "",
            }
        )
    return cells


def _review_item(label, candidates: dict) -> dict:
    """What the review template shows for one label: the conversation, then the answer written or
    the candidates in rank order with their answers, read with the schema of the label's version."""
    prompt = label.work_item.prompt
    schema = _label_schema(label)
    track = next((t.label for t in schema.tracks if t.name == prompt.track), prompt.track)
    item = {"label": label, "messages": prompt.messages, "kind": label.kind, "track": track}
    if label.kind == WorkKind.DEMONSTRATION:
        item["source"] = candidates.get(label.source_candidate_id) if label.source_candidate_id else None
        item["diff"] = _diff_lines(label.diff) if label.diff else []
        return item
    shown = [int(cid) for cid in (label.display_order or label.work_item.candidate_ids)]
    rows = []
    for position, cid in enumerate(shown, start=1):
        key = str(cid)
        rows.append(
            {
                "position": position,
                "candidate": candidates.get(cid),
                "rank": label.ranks.get(key),
                "answers": _answer_cells(schema, prompt.track, answers_of(label.ratings, label.flags, key)),
                "safety": label.safety.get(key, ""),
            }
        )
    rows.sort(key=lambda row: (row["rank"] if isinstance(row["rank"], int) else 99, row["position"]))
    ranks = [row["rank"] for row in rows]
    for row in rows:
        row["tied"] = row["rank"] is not None and ranks.count(row["rank"]) > 1
    item["rows"] = rows
    level = next((s for s in schema.strength_levels if s.name == label.strength), None)
    item["strength"] = level.label if level is not None else label.strength
    return item


@project_view(Capability.REVIEW)
@require_GET
def review_queue(request, access):
    page = selectors.review_queue_page(project=access.project, reviewer=request.user, limit=REVIEW_PAGE_SIZE)
    items = [_review_item(label, page["candidates"]) for label in page["labels"]]
    context = project_context(access, "review", items=items, total=page["total"])
    return render(request, "labeling/review.html", context)


@project_view(Capability.REVIEW)
@require_POST
def review_decide(request, access, label_id: int):
    """Accept, or reject with a comment. Whatever the service refuses comes back as a message."""
    if not Label.objects.filter(project=access.project, pk=label_id).exists():
        # Unknown, or another project's: a 404 like every object outside the project.
        raise Http404("Label not found.")
    back = reverse("projects:labeling:review", kwargs={"project_id": access.project.pk})
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Accept or Reject (a comment is at most 2,000 characters).")
        return redirect(f"{back}#label-{label_id}")
    waiting = selectors.review_queue(project=access.project, reviewer=request.user).filter(pk=label_id).exists()
    if not waiting:
        messages.error(request, f"Label #{label_id} is not waiting for your review (already reviewed, or yours).")
        return redirect(back)
    try:
        label = services.label_review(
            label_id=label_id, reviewer=request.user, accept=form.accept, comment=form.cleaned_data["comment"]
        )
    except ApplicationError as exc:
        messages.error(request, f"Label #{label_id}: {exc.message}")
        return redirect(f"{back}#label-{label_id}")
    verdict = "accepted" if form.accept else "rejected; its task goes back to the queue"
    messages.success(request, f"Label #{label.pk} by {label.user.get_username()} {verdict}.")
    return redirect(back)
