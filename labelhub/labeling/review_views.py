"""The reviewers' queue: labels of others waiting for a decision, filtered (labeler, track, kind,
flag, guideline version: a GET form, so the filters stay in the URL) and paged by keyset (?after=<id>,
?before=<id>). Reviewers acknowledge the current guidelines first, like labelers (the same gate).

Decisions are plain forms: without JavaScript a POST then a redirect back to the same filters, page
and the next label's anchor. With htmx (static/js/review.js adds the keyboard: j/k, a, x, Ctrl+Enter)
the decision swaps just that label's card for its decided state.

Access is checked by `project_view` (404 for non-members, 403 for a role without the capability).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import retarget

from labelhub.core.diff import MAX_ROWS
from labelhub.core.exceptions import ApplicationError
from labelhub.projects import selectors as project_selectors
from labelhub.projects.decorators import project_context, project_view
from labelhub.projects.permissions import Capability
from labelhub.projects.rubric import FLAGS, Question, Schema, answers_of, schema_of

from . import selectors, services
from .forms import ReviewFilterForm, ReviewForm
from .gate import gate_acknowledge, guideline_gate
from .models import Label, ReviewStatus, WorkKind

REVIEW_PAGE_SIZE = 20
# The query-string keys a decision carries back to the queue (filters and page), nothing else.
RETURN_KEYS = ("labeler", "track", "kind", "flag", "version", "after", "before")


def _review_url(project_id: int, query: str = "", anchor: str = "") -> str:
    url = reverse("projects:labeling:review", kwargs={"project_id": project_id})
    return url + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")


def _return_query(data) -> str:
    """The queue's filters and page from a query string (or a QueryDict), re-encoded: only RETURN_KEYS,
    short values, so a form field can carry them without becoming a redirect anywhere else."""
    if isinstance(data, str):
        data = QueryDict(data[:1000])
    return urlencode([(key, data.get(key, "")[:100]) for key in RETURN_KEYS if data.get(key)])


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


def _filter_form(request, project) -> ReviewFilterForm:
    """The filters with the project's choices: members, the current schema's tracks and flags, the
    published versions (three queries)."""
    schema = project_selectors.project_schema(project=project)
    flags = schema.question(FLAGS)
    return ReviewFilterForm(
        request.GET,
        labelers=[m.user.get_username() for m in project_selectors.membership_list(project=project)],
        tracks=[(t.name, t.label) for t in schema.tracks],
        kinds=list(WorkKind.choices),
        flags=list(flags.options) if flags is not None and flags.type == "multi" else [],
        versions=list(project_selectors.guideline_version_list(project=project).values_list("number", flat=True)),
    )


@project_view(Capability.REVIEW)
@require_GET
def review_queue(request, access):
    """The gate until the reviewer acknowledged the current guidelines; then one page of the queue."""
    project = access.project
    gate = guideline_gate(project=project, user=request.user)
    if gate["gate"] or gate["current"] is None:
        return render(request, "labeling/review.html", project_context(access, "review", **gate))
    form = _filter_form(request, project)
    filters = form.filters()
    page = selectors.review_queue_page(
        project=project,
        reviewer=request.user,
        limit=REVIEW_PAGE_SIZE,
        filters=filters,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    items = [_review_item(label, page["candidates"]) for label in page["labels"]]
    for item, following in zip(items, [*items[1:], None], strict=False):
        item["then"] = following["label"].pk if following else None
    context = project_context(
        access,
        "review",
        **gate,
        form=form,
        filtered=filters != selectors.ReviewFilters(),
        items=items,
        total=page["total"],
        next_after=page["next_after"],
        prev_before=page["prev_before"],
        is_first_page=not (request.GET.get("after") or request.GET.get("before")),
        return_query=_return_query(request.GET),
    )
    return render(request, "labeling/review.html", context)


def _decided(request, access, label: Label, *, error: str = ""):
    """htmx: the label's card in its decided state, or (error) the message in the card's error slot."""
    context = project_context(access, "review", label=label, error=error)
    if error:
        return retarget(render(request, "labeling/review.html#review-error", context), f"#label-{label.pk}-error")
    return render(request, "labeling/review.html#review-decided", context)


@project_view(Capability.REVIEW)
@require_POST
def review_decide(request, access, label_id: int):
    """Accept, or reject with a comment. Whatever the service refuses comes back as a message (htmx: in
    the card). Without htmx, back to the same filters and page, at the next label."""
    label = Label.objects.filter(project=access.project, pk=label_id).select_related("user").first()
    if label is None:
        # Unknown, or another project's: a 404 like every object outside the project.
        raise Http404("Label not found.")
    query = _return_query(request.POST.get("return", ""))
    then = request.POST.get("then", "")
    back = _review_url(access.project.pk, query, f"label-{then}" if then.isascii() and then.isdigit() else "")
    here = _review_url(access.project.pk, query, f"label-{label_id}")
    form = ReviewForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose Accept or Reject (a comment is at most 2,000 characters)."
    elif not selectors.review_queue(project=access.project, reviewer=request.user).filter(pk=label_id).exists():
        error = f"Label #{label_id} is not waiting for your review (already reviewed, or yours)."
        here = _review_url(access.project.pk, query)
    else:
        try:
            label = services.label_review(
                label_id=label_id, reviewer=request.user, accept=form.accept, comment=form.cleaned_data["comment"]
            )
        except ApplicationError as exc:
            error = f"Label #{label_id}: {exc.message}"
    if request.htmx:
        return _decided(request, access, label, error=error)
    if error:
        messages.error(request, error)
        return redirect(here)
    verdict = (
        "accepted" if label.review_status == ReviewStatus.ACCEPTED else "rejected; its task goes back to the queue"
    )
    messages.success(request, f"Label #{label.pk} by {label.user.get_username()} {verdict}.")
    return redirect(back)


@project_view(Capability.REVIEW)
@require_POST
def review_acknowledge(request, access):
    """The reviewers' gate: acknowledge the current version, then back to the queue."""
    gate_acknowledge(request, access.project)
    return redirect(_review_url(access.project.pk))
