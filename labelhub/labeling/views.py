"""The labeler's workbench (the reviewers' queue: review_views.py).

The workbench page is server-rendered up to the task: the guidelines gate (acknowledge the current
version first), the guidelines panel and the progress line. The task itself is driven by
static/js/workbench/ (ES modules) through the JSON API (/api/v1/projects/<id>/work/next, /api/v1/work-items/…),
which calls the same services.

Access is checked by `project_view` (404 for non-members, 403 for a role without the capability).
"""

from django.contrib import messages
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from labelhub.core.exceptions import ApplicationError
from labelhub.core.ids import InvalidId, parse_id
from labelhub.projects.decorators import project_context, project_view
from labelhub.projects.permissions import Capability
from labelhub.projects.rubric import schema_of

from . import selectors, services
from .gate import gate_acknowledge, guideline_gate
from .models import Label


def _workbench_url(project_id: int) -> str:
    return reverse("projects:labeling:workbench", kwargs={"project_id": project_id})


# Workbench ------------------------------------------------------------------------------------


@project_view(Capability.LABEL)
@require_GET
def workbench(request, access):
    """Until the labeler acknowledged the current guidelines: what changed (or the whole version)
    and the acknowledge button, nothing else (labeling/gate.py). Then: the guidelines panel and the
    task area."""
    project = access.project
    gate = guideline_gate(project=project, user=request.user)
    current = gate["current"]
    context = project_context(access, "label", **gate)
    if current is not None and not gate["gate"]:
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
    gate_acknowledge(request, access.project, then=" Happy labeling.")
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
