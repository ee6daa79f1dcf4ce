"""Prompt pages: the filterable list, one prompt, and the import form with its progress page."""

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from labelhub.core.exceptions import ApplicationError
from labelhub.core.forms import apply_service_error
from labelhub.core.htmx import partial
from labelhub.projects.decorators import project_context, project_view
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_track_labels

from . import selectors, services
from .forms import PromptFilterForm, PromptImportForm
from .models import ImportStatus

PAGE_SIZE = 50


@project_view()
@require_GET
@vary_on_headers("HX-Request")
def prompt_list(request, access):
    """Filters (track, tag, q) and keyset pages (?before=<id>). An htmx request gets the
    #prompt-table partial only. A constant number of queries whatever the page size."""
    project = access.project
    track_labels = project_track_labels(project=project)
    form = PromptFilterForm(
        request.GET, tracks=list(track_labels.items()), tags=selectors.prompt_tag_names(project=project)
    )
    filters = form.filters()
    prompts, next_before = selectors.prompt_page(
        project=project, before=request.GET.get("before"), size=PAGE_SIZE, **filters
    )
    context = project_context(
        access,
        "prompts",
        form=form,
        prompts=prompts,
        next_before=next_before,
        is_first_page=not request.GET.get("before"),
        filtered=any(filters.values()),
        track_labels=track_labels,
    )
    # base.html sets htmx's refreshOnHistoryMiss, so a history restore reloads the page rather
    # than asking for it with HX-Request (which would get the partial alone).
    return render(request, partial(request, "prompts/list.html", "prompt-table"), context)


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@project_view()
@require_GET
def prompt_detail(request, access, prompt_id: int):
    prompt = selectors.prompt_get(project=access.project, prompt_id=prompt_id)
    return prompt_detail_page(request, access, prompt)


def prompt_detail_page(request, access, prompt, *, status: int = 200, **fragments):
    """One prompt: conversation, candidates, metadata. Apps above prompts add their fragments through
    template tags (generation's "Generate" buttons, quality's "Gold answer" card); `fragments` is
    context for them when their own view renders this page again (a refused gold form: `gold`)."""
    candidates = selectors.candidates_shown(access=access, candidates=selectors.prompt_candidates(prompt=prompt))
    context = project_context(
        access,
        "prompts",
        prompt=prompt,
        metadata=_pretty(prompt.metadata) if prompt.metadata else "",
        candidates=candidates,
        track_labels=project_track_labels(project=access.project),
        **fragments,
    )
    return render(request, "prompts/detail.html", context, status=status)


@project_view(Capability.MANAGE)
@require_http_methods(["GET", "POST"])
def prompt_import(request, access):
    """Upload a JSONL/CSV file. Small files are imported during the request, large ones by a
    worker; either way the browser lands on the import's page."""
    form = PromptImportForm(request.POST, request.FILES) if request.method == "POST" else PromptImportForm()
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imp = services.prompt_import_start(
                project=access.project,
                user=request.user,
                chunks=upload.chunks(),
                filename=upload.name,
                content_type=upload.content_type or "",
            )
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            if imp.status == ImportStatus.DONE:
                messages.success(request, f"Imported {imp.filename}: {imp.message}")
            elif imp.status == ImportStatus.FAILED:
                messages.error(request, f"{imp.filename} was not imported: {imp.message}")
            return redirect("projects:prompts:import-detail", project_id=access.project.pk, import_id=imp.pk)
    context = project_context(
        access, "prompts", form=form, imports=selectors.prompt_import_list(project=access.project, limit=10)
    )
    return render(request, "prompts/import.html", context, status=400 if form.is_bound else 200)


@project_view(Capability.MANAGE)
@require_GET
@vary_on_headers("HX-Request")
def prompt_import_detail(request, access, import_id: int):
    """Status, counts and bad lines. While the import runs, the #import-status partial polls
    this same URL every second; the finished partial has no trigger, so polling stops."""
    imp = selectors.prompt_import_get(project=access.project, import_id=import_id)
    context = project_context(access, "prompts", imp=imp)
    template = "prompts/import_detail.html"
    return render(request, partial(request, template, "import-status"), context)
