"""Evaluation run pages: start a run from a set (`run-create`), a run with its live progress, cancel /
resume buttons and its report (`run`). EVALUATE only (a run names the model configs compared): 404
for non-members, 403 for labelers and reviewers; a run or set of another project is a 404."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from labelhub.core.exceptions import ApplicationError, NotFound
from labelhub.core.forms import apply_service_error
from labelhub.generation.models import ModelConfig
from labelhub.projects.decorators import project_context, project_view
from labelhub.projects.permissions import Capability

from ..models import BaselineKind, EvaluationRun, RunStatus
from ..run_forms import RunCreateForm
from ..selectors.report import evaluation_report
from ..selectors.runs import evaluation_run_get, evaluation_run_progress, evaluation_runs
from ..selectors.sets import evaluation_set_get
from ..services import runs as services


def _run_for_project(request, access, run_id) -> EvaluationRun:
    run = evaluation_run_get(user=request.user, run_id=run_id)
    if run.project_id != access.project.pk:
        raise NotFound("Run not found.")
    return run


def _run_url(run) -> str:
    return reverse("projects:evaluation:run", args=[run.project_id, run.pk])


def _create_run(request, form, evaluation_set):
    configs = ModelConfig.objects.filter(project=evaluation_set.project)
    data = form.cleaned_data
    kind = data["baseline_kind"]
    return services.evaluation_run_create(
        evaluation_set=evaluation_set,
        user=request.user,
        model_config=configs.filter(pk=data["model_config"]).first(),
        baseline_kind=kind,
        baseline_config=configs.filter(pk=data["baseline_config"] or 0).first()
        if kind == BaselineKind.CONFIG
        else None,
        baseline_run=evaluation_runs(evaluation_set=evaluation_set).filter(pk=data["baseline_run"] or 0).first()
        if kind == BaselineKind.RUN
        else None,
        labels_per_pair=data["labels_per_pair"],
        thresholds=form.thresholds(),
    )


@project_view(Capability.EVALUATE)
@require_http_methods(["GET", "POST"])
def run_create(request, access, set_id: int):
    evaluation_set = evaluation_set_get(user=request.user, set_id=set_id)
    if evaluation_set.project_id != access.project.pk:
        raise NotFound("Evaluation set not found.")
    configs = [c for c in ModelConfig.objects.filter(project=access.project).order_by("name") if c.is_active]
    history = list(evaluation_runs(evaluation_set=evaluation_set))
    options = {"configs": configs, "runs": [r for r in history if r.status != RunStatus.CANCELLED]}
    form = RunCreateForm(request.POST if request.method == "POST" else None, **options)
    if request.method == "POST" and form.is_valid():
        try:
            run = _create_run(request, form, evaluation_set)
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Run {run.number} of “{evaluation_set.name}” started.")
            return redirect(_run_url(run))
    context = project_context(access, "evaluation", form=form, evaluation_set=evaluation_set, configs=configs)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "evaluation/run_create.html", context, status=status)


@project_view(Capability.EVALUATE)
@require_GET
@vary_on_headers("HX-Request")
def run_detail(request, access, run_id: int):
    """Status, live progress (the #run-progress partial polls every 2 s until the run settles; the
    poll that sees it finish reloads the page once for the frozen report), cancel / resume, report."""
    run = _run_for_project(request, access, run_id)
    context = project_context(
        access,
        "evaluation",
        run=run,
        progress=evaluation_run_progress(run=run),
        can_triage=access.can(Capability.TRIAGE),
    )
    if request.htmx:
        response = render(request, "evaluation/_run_progress.html", context)
        if run.status == RunStatus.FINISHED and request.GET.get("poll"):
            response["HX-Refresh"] = "true"
        return response
    context.update(report=evaluation_report(run=run))
    return render(request, "evaluation/run_detail.html", context)


def _act(request, access, run_id: int, action, done: str):
    run = _run_for_project(request, access, run_id)
    try:
        action(run=run, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(_run_url(run))


@project_view(Capability.EVALUATE)
@require_POST
def run_cancel(request, access, run_id: int):
    return _act(
        request, access, run_id, services.evaluation_run_cancel, "Run cancelled: its pairs are no longer served."
    )


@project_view(Capability.EVALUATE)
@require_POST
def run_resume(request, access, run_id: int):
    return _act(request, access, run_id, services.evaluation_run_resume, "Run resumed.")


routes = [
    path("sets/<id:set_id>/runs/new/", run_create, name="run-create"),
    path("runs/<id:run_id>/", run_detail, name="run"),
    path("runs/<id:run_id>/cancel/", run_cancel, name="run-cancel"),
    path("runs/<id:run_id>/resume/", run_resume, name="run-resume"),
]
