"""Candidate generation pages: model configs (with a connection check), starting a batch, and the
batch pages with live progress, failed jobs and the candidates they produced.

Each view parses input, calls one selector or service, and renders. Access is checked by
`project_view` (404 for non-members, 403 for a role without the capability): every page here names
models, so it needs SEE_PROVENANCE (admins, engineers; labelers and reviewers get 403); batches and jobs are
fetched through the selectors that check membership themselves, and must belong to the project
of the URL.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from labelhub.core.exceptions import ApplicationError, Forbidden, NotFound
from labelhub.core.forms import apply_service_error
from labelhub.core.htmx import partial
from labelhub.core.ids import is_id, parse_id
from labelhub.projects.decorators import project_context, project_view
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_track_labels
from labelhub.prompts.selectors import candidates_shown, prompt_tag_names

from . import selectors, services
from .forms import MAX_SELECTED, BatchStartForm, ModelConfigForm
from .models import RETRYING, JobStatus

CANDIDATES_PER_PAGE = 50
FAILED_SHOWN = 100
BATCHES_SHOWN = 20


def _models_url(project_id: int, config_id: int | None = None) -> str:
    url = reverse("projects:generation:models", args=[project_id])
    return f"{url}#config-{config_id}" if config_id else url


def _active_configs(project) -> list:
    return [c for c in selectors.model_config_list(project=project) if c.is_active]


# Model configs ---------------------------------------------------------------------------------


@project_view(Capability.SEE_PROVENANCE)
@require_GET
def model_config_list(request, access):
    """Admins and engineers see the configs and their last connection check (labelers and reviewers
    get 403: which model writes the candidates is kept from them); admins can change them."""
    can_manage = access.can(Capability.MANAGE)
    context = project_context(
        access,
        "models",
        configs=selectors.model_config_list(project=access.project),
        form=ModelConfigForm(initial={"candidates_per_prompt": access.project.candidates_per_prompt})
        if can_manage
        else None,
    )
    return render(request, "generation/model_configs.html", context)


@project_view(Capability.MANAGE)
@require_http_methods(["GET", "POST"])
def model_config_create(request, access):
    """The add form on its own page (the models page posts here; errors come back here)."""
    initial = {"candidates_per_prompt": access.project.candidates_per_prompt}
    form = ModelConfigForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            config = services.model_config_create(project=access.project, data=form.service_data())
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Model config “{config.name}” added. Test its connection before generating.")
            return redirect(_models_url(access.project.pk, config.pk))
    context = project_context(access, "models", form=form, config=None)
    return render(request, "generation/model_config_form.html", context, status=400 if form.is_bound else 200)


@project_view(Capability.MANAGE)
@require_http_methods(["GET", "POST"])
def model_config_edit(request, access, config_id: int):
    config = selectors.model_config_get(project=access.project, config_id=config_id)
    form = ModelConfigForm(request.POST if request.method == "POST" else None, config=config)
    if request.method == "POST" and form.is_valid():
        try:
            config = services.model_config_update(config=config, data=form.service_data())
            if form.cleaned_data.get("clear_api_key"):
                config = services.model_config_clear_api_key(config=config)
        except ApplicationError as exc:
            apply_service_error(form, exc)
            config.refresh_from_db()  # the failed update may have set attributes on it
        else:
            messages.success(request, f"Model config “{config.name}” saved.")
            return redirect(_models_url(access.project.pk, config.pk))
    context = project_context(access, "models", form=form, config=config)
    return render(request, "generation/model_config_form.html", context, status=400 if form.is_bound else 200)


@project_view(Capability.SEE_PROVENANCE)
@require_GET
@vary_on_headers("HX-Request")
def model_config_row(request, access, config_id: int):
    """One config's table row, for htmx (it polls this while a connection check runs).
    Without htmx: the models page, scrolled to the row."""
    config = selectors.model_config_get(project=access.project, config_id=config_id)
    if not request.htmx:
        return redirect(_models_url(access.project.pk, config.pk))
    context = project_context(access, "models", config=config)
    return render(request, "generation/model_configs.html#config-row", context)


@project_view(Capability.MANAGE)
@require_POST
def model_config_test(request, access, config_id: int):
    """Start a connection check on a worker. htmx gets the row back (polling until done)."""
    config = selectors.model_config_get(project=access.project, config_id=config_id)
    config = services.model_config_check_start(config=config)
    if request.htmx:
        context = project_context(access, "models", config=config)
        return render(request, "generation/model_configs.html#config-row", context)
    messages.info(request, f"Checking the connection of “{config.name}”…")
    return redirect(_models_url(access.project.pk, config.pk))


@project_view(Capability.MANAGE)
@require_POST
def model_config_active(request, access, config_id: int):
    """POST active=1 to activate, active=0 to deactivate."""
    config = selectors.model_config_get(project=access.project, config_id=config_id)
    active = request.POST.get("active") == "1"
    try:
        services.model_config_update(config=config, data={"is_active": active})
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{config.name}” {'activated' if active else 'deactivated'}.")
    return redirect(_models_url(access.project.pk, config.pk))


@project_view(Capability.MANAGE)
@require_POST
def model_config_delete(request, access, config_id: int):
    config = selectors.model_config_get(project=access.project, config_id=config_id)
    name = config.name
    if services.model_config_delete(config=config):
        messages.success(request, f"Model config “{name}” deleted.")
        return redirect(_models_url(access.project.pk))
    messages.warning(
        request, f"“{name}” has generated candidates, so it was deactivated instead (its candidates keep it)."
    )
    return redirect(_models_url(access.project.pk, config.pk))


# Batches ---------------------------------------------------------------------------------------


def _batch_for_project(request, access, batch_id, capability=Capability.SEE_PROVENANCE):
    batch, _role = selectors.batch_get_for_user(user=request.user, batch_id=batch_id, capability=capability)
    if batch.project_id != access.project.pk:
        raise NotFound("Batch not found.")
    return batch


def _batch_url(batch) -> str:
    return reverse("projects:generation:batch", args=[batch.project_id, batch.pk])


def _progress_context(batch) -> dict:
    return {"batch": batch, "progress": selectors.batch_progress(batch=batch)}


def _batch_start_form(request, project, configs) -> BatchStartForm:
    """Bound to the POST; on a GET, unbound but carrying what the prompt list sent: the selected
    prompts (`prompt_ids`) or its filters (`target` with `tag` / `track` / `search`)."""
    options = {
        "configs": configs,
        "default_k": project.candidates_per_prompt,
        "tags": prompt_tag_names(project=project),
        "tracks": list(project_track_labels(project=project).items()),
    }
    if request.method == "POST":
        return BatchStartForm(request.POST, **options)
    form = BatchStartForm(None, **options)
    selected = [v for v in request.GET.getlist("prompt_ids")[:MAX_SELECTED] if v.isascii() and v.isdigit()]
    initial = {key: request.GET.get(key, "")[:200] for key in ("tag", "track", "search")}
    wanted = request.GET.get("target", "")
    form.initial.update({k: v for k, v in initial.items() if v})
    if selected:
        form.fields["prompt_ids"].choices = [(v, v) for v in selected]
        form.initial.update(target="selected", prompt_ids=selected)
    elif wanted in dict(BatchStartForm.TARGETS):
        form.initial["target"] = wanted
    return form


@project_view(Capability.MANAGE)
@require_http_methods(["GET", "POST"])
def batch_start(request, access):
    """Start a batch (or, with action=preview, count what it would queue): one prompt (`prompt`, from
    a prompt's page), the prompts selected on the prompt list, or a target of this page's form."""
    project = access.project
    configs = _active_configs(project)
    form = _batch_start_form(request, project, configs)
    preview = None
    if request.method == "POST":
        prompt_id = request.POST.get("prompt") or None
        if form.is_valid():
            prompt_id = form.cleaned_data["prompt"]
            try:
                config = selectors.model_config_get(project=project, config_id=form.cleaned_data["model_config"])
                if request.POST.get("action") == "preview":
                    preview = selectors.batch_target_preview(project=project, config=config, target=form.batch_target())
                else:
                    batch = services.generation_batch_create(
                        project=project, user=request.user, config=config, target=form.batch_target()
                    )
            except ApplicationError as exc:
                apply_service_error(form, exc)
            else:
                if preview is None:
                    messages.success(
                        request, f"Batch #{batch.pk} started: {batch.job_count} samples with “{config.name}”."
                    )
                    return redirect(_batch_url(batch))
        if prompt_id and preview is None:
            # From a prompt's page: back there, with the reason.
            errors = [e for field_errors in form.errors.values() for e in field_errors]
            messages.error(request, " ".join(errors) or "Could not start the batch.")
            if is_id(prompt_id):
                return redirect("projects:prompts:detail", project_id=project.pk, prompt_id=parse_id(prompt_id))
    context = project_context(access, "generation", form=form, configs=configs, preview=preview)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "generation/batch_start.html", context, status=status)


@project_view(Capability.SEE_PROVENANCE)
@require_GET
@vary_on_headers("HX-Request")
def batch_list(request, access):
    """Recent batches with their progress; the table polls itself while any batch runs."""
    rows = [_progress_context(b) for b in selectors.batch_list(project=access.project, limit=BATCHES_SHOWN)]
    context = project_context(
        access,
        "generation",
        rows=rows,
        any_running=any(not row["progress"].finished for row in rows),
        has_active_config=bool(_active_configs(access.project)) if access.can(Capability.MANAGE) else False,
    )
    return render(request, partial(request, "generation/batch_list.html", "batch-table"), context)


@project_view(Capability.SEE_PROVENANCE)
@require_GET
@vary_on_headers("HX-Request")
def batch_detail(request, access, batch_id: int):
    """Progress, failed jobs and candidates. While jobs are queued or running, the
    #batch-progress partial polls this URL every 2 s; the finished partial has no trigger, and
    the poll that sees the batch finish reloads the page once to show the results."""
    batch = _batch_for_project(request, access, batch_id)
    context = project_context(access, "generation", **_progress_context(batch))
    if context["progress"].retrying:
        context["retrying_jobs"] = selectors.batch_jobs(batch=batch, status=RETRYING)[:FAILED_SHOWN]
    if request.htmx:
        response = render(request, "generation/batch_detail.html#batch-progress", context)
        if context["progress"].finished and request.GET.get("poll"):
            response["HX-Refresh"] = "true"
        return response
    candidates, next_after = selectors.batch_candidates(
        batch=batch, after=request.GET.get("after"), limit=CANDIDATES_PER_PAGE
    )
    context.update(
        failed_jobs=selectors.batch_jobs(batch=batch, status=JobStatus.FAILED)[:FAILED_SHOWN],
        failed_shown=FAILED_SHOWN,
        candidates=candidates_shown(access=access, candidates=candidates),
        next_after=next_after,
        is_first_page=not request.GET.get("after"),
    )
    return render(request, "generation/batch_detail.html", context)


@project_view(Capability.MANAGE)
@require_POST
def batch_retry_failed(request, access, batch_id: int):
    batch = _batch_for_project(request, access, batch_id, Capability.MANAGE)
    count = services.generation_batch_retry_failed(batch=batch)
    if count:
        messages.success(request, f"{count} failed job{'s' if count != 1 else ''} sent again.")
    else:
        messages.info(request, "No failed jobs to retry.")
    return redirect(_batch_url(batch))


@project_view(Capability.MANAGE)
@require_POST
def job_retry(request, access, job_id: int):
    job = selectors.job_get_for_user(user=request.user, job_id=job_id, capability=Capability.MANAGE)
    if job.project_id != access.project.pk:
        raise NotFound("Job not found.")
    try:
        services.generation_job_retry(job=job)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Job #{job.pk} sent again.")
    return redirect("projects:generation:batch", project_id=access.project.pk, batch_id=job.batch_id)


@login_required
@require_GET
def batch_redirect(request, batch_id: int):
    """/generation-batches/<id>/ (the id the API returns) → the batch's page in its project."""
    try:
        batch, _role = selectors.batch_get_for_user(
            user=request.user, batch_id=batch_id, capability=Capability.SEE_PROVENANCE
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    return redirect(_batch_url(batch))
