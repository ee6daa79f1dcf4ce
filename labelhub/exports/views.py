"""The exports page of a project: snapshots (with live progress), a form to freeze a new one, the
download of a finished one, and how to stream exports from the API.

Exports are for project admins and engineers; to everyone else the project does not exist (404),
exactly as in the API (`selectors.export_access`). Snapshots are fetched within the project of the
URL, so another project's snapshot is a 404 too.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from labelhub.core.exceptions import ApplicationError, Conflict, NotFound
from labelhub.core.forms import apply_service_error
from labelhub.core.htmx import partial
from labelhub.core.pagination import keyset_page
from labelhub.projects.decorators import project_context
from labelhub.projects.selectors import ProjectAccess

from . import selectors, services
from .apis import snapshot_file_response
from .forms import SnapshotForm
from .models import ExportSnapshot, SnapshotStatus
from .selectors import ERROR_MARKER

SNAPSHOTS_PER_PAGE = 50
# A row stops polling when nothing can be expected soon: no worker took a snapshot within minutes
# of its creation (the maintenance task keeps re-sending it), or a build outlived the task's time
# limit (tasks.py: 3500 s). The page says so; a reload polls again.
STALE_QUEUED = timedelta(minutes=10)
STALE_RUNNING = services.STALE_RUNNING


def export_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate `view(request, access, **kwargs)` served under a `project_id` URL argument: login
    first, then the EXPORT capability; members without it and non-members both get 404."""

    @wraps(view)
    def wrapped(request: HttpRequest, project_id: int, *args, **kwargs) -> HttpResponse:
        try:
            access = selectors.export_access(user=request.user, project_id=project_id)
            return view(request, access, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return login_required(wrapped)


def _list_url(project_id: int, snapshot_id: int | None = None) -> str:
    url = reverse("projects:exports:list", args=[project_id])
    return f"{url}#snapshot-{snapshot_id}" if snapshot_id else url


def _snapshot_get(access: ProjectAccess, snapshot_id) -> ExportSnapshot:
    snapshot = (
        ExportSnapshot.objects.select_related("created_by").filter(project=access.project, pk=snapshot_id).first()
    )
    if snapshot is None:
        raise NotFound("Snapshot not found.")
    return snapshot


def _row(snapshot: ExportSnapshot) -> dict:
    """What one table row shows: the snapshot, its progress, and whether the row keeps polling."""
    now = timezone.now()
    stale = (snapshot.status == SnapshotStatus.QUEUED and snapshot.created_at < now - STALE_QUEUED) or (
        snapshot.status == SnapshotStatus.RUNNING and (snapshot.started_at or snapshot.updated_at) < now - STALE_RUNNING
    )
    return {
        "snapshot": snapshot,
        "progress": services.snapshot_progress(snapshot),
        "options": [(k, v) for k, v in snapshot.params.items() if k != "format"],
        "stale": stale,
        "polling": not snapshot.is_finished and not stale,
    }


def _curl_examples(request: HttpRequest, project_id: int) -> list[dict]:
    def url(name: str, query: str = "") -> str:
        return request.build_absolute_uri(reverse(f"api:{name}", args=[project_id])) + query

    auth = '-H "Authorization: Token $LABELHUB_TOKEN"'
    examples = [
        ("sft", "Demonstrations for supervised fine-tuning", url("export-sft"), "sft.jsonl"),
        (
            "preferences",
            "Chosen/rejected pairs in TRL's preference format, every pair of each ranking",
            url("export-preferences", "?format=trl-preference&pairs=all"),
            "preferences.jsonl",
        ),
        ("kto", "Unpaired desirable/undesirable completions", url("export-kto"), "kto.jsonl"),
        ("rankings", "Every compared item with each labeler's judgment", url("export-rankings"), "rankings.jsonl"),
    ]
    return [
        {"kind": kind, "title": title, "command": f'curl -fsS {auth} -o {filename} "{target}"'}
        for kind, title, target, filename in examples
    ]


def _form(access: ProjectAccess, data=None) -> SnapshotForm:
    """The snapshot form, its track choices from the project's labeling schemas."""
    return SnapshotForm(data, tracks=selectors.export_tracks(project=access.project))


def _page_context(request, access, *, form, before=None) -> dict:
    snapshots, next_before = keyset_page(
        ExportSnapshot.objects.filter(project=access.project).select_related("created_by").order_by("-id"),
        cursor=before,
        size=SNAPSHOTS_PER_PAGE,
        newest_first=True,
    )
    return project_context(
        access,
        "exports",
        can_export=True,
        form=form,
        rows=[_row(s) for s in snapshots],
        next_before=next_before,
        is_first_page=before in (None, ""),
        curl_examples=_curl_examples(request, access.project.pk),
        error_marker=ERROR_MARKER.decode().split(":")[0],
    )


@export_view
@require_GET
@vary_on_headers("HX-Request")
def snapshot_list(request, access):
    """Snapshots, newest first (?before=<id> for older ones), the form, and the streaming examples.
    htmx gets the table alone."""
    context = _page_context(request, access, form=_form(access), before=request.GET.get("before"))
    return render(request, partial(request, "exports/snapshot_list.html", "snapshot-table"), context)


@export_view
@require_POST
def snapshot_create(request, access):
    """Validate the options through the service and queue the build. Errors come back on the form
    (400); success redirects to the list (htmx: the table, with the new row polling)."""
    form = _form(access, request.POST)
    if form.is_valid():
        kind, raw, dropped = form.service_input()
        try:
            snapshot = services.snapshot_create(project=access.project, user=request.user, kind=kind, raw=raw)
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            if request.htmx:
                context = _page_context(request, access, form=_form(access))
                return render(request, "exports/snapshot_list.html#snapshot-table", context)
            messages.success(request, f"Snapshot #{snapshot.pk} queued: {snapshot.kind}, {snapshot.format}.")
            if dropped:
                messages.info(request, f"Left out, as they do not apply to {kind} exports: {', '.join(dropped)}.")
            return redirect(_list_url(access.project.pk, snapshot.pk))
    context = _page_context(request, access, form=form)
    template = "exports/snapshot_list.html#snapshot-form" if request.htmx else "exports/snapshot_list.html"
    return render(request, template, context, status=400)


@export_view
@require_GET
@vary_on_headers("HX-Request")
def snapshot_row(request, access, snapshot_id: int):
    """One snapshot's table row, for htmx (it polls this while the snapshot is queued or running).
    Without htmx: the list, at the row."""
    snapshot = _snapshot_get(access, snapshot_id)
    if not request.htmx:
        return redirect(_list_url(access.project.pk, snapshot.pk))
    context = project_context(access, "exports", can_export=True, **_row(snapshot))
    return render(request, "exports/snapshot_list.html#snapshot-row", context)


@export_view
@require_GET
def snapshot_download(request, access, snapshot_id: int):
    """The frozen file, byte for byte (X-Labelhub-SHA256 carries its digest). Not done yet: 409."""
    snapshot = _snapshot_get(access, snapshot_id)
    try:
        return snapshot_file_response(snapshot)
    except Conflict as exc:
        context = project_context(access, "exports", can_export=True, snapshot=snapshot, message=exc.message)
        return render(request, "exports/snapshot_not_ready.html", context, status=409)
