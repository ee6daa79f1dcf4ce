"""Evaluation set pages (EVALUATE: admins and engineers): the list, the create form, a set with its
prompts and run history (a server-side SVG chart of the score over runs), and delete.

Routes of this module are listed in `routes` (joined in evaluation/urls.py)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labelhub.core.exceptions import ApplicationError, NotFound
from labelhub.core.forms import apply_service_error
from labelhub.projects.decorators import project_context, project_view
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_track_labels

from ..forms import EvaluationSetForm
from ..models import EvaluationSet
from ..selectors import sets as selectors
from ..selectors.runs import evaluation_runs
from ..services import sets as services

PROMPTS_PER_PAGE = 50
SECTION = "evaluation"


def _set_for_project(request, access, set_id) -> EvaluationSet:
    evaluation_set = selectors.evaluation_set_get(user=request.user, set_id=set_id)
    if evaluation_set.project_id != access.project.pk:
        raise NotFound("Evaluation set not found.")
    return evaluation_set


@project_view(Capability.EVALUATE)
@require_GET
def set_list(request, access):
    rows = [
        {
            "set": s,
            "score": selectors.report_score(s.latest_report),
            "alarms": selectors.report_alarms(s.latest_report),
        }
        for s in selectors.evaluation_sets(project=access.project)
    ]
    return render(request, "evaluation/sets.html", project_context(access, SECTION, rows=rows))


def _initial_from(request, access) -> dict:
    """A "New version" of an existing set: its name, description and selection (seed drawn anew)."""
    source_id = request.GET.get("from")
    if not source_id:
        return {}
    source = _set_for_project(request, access, source_id)
    selection = source.selection if isinstance(source.selection, dict) else {}
    return {
        "name": source.name,
        "description": source.description,
        "tags": ", ".join(selection.get("tags") or []),
        "track": selection.get("track") or "",
        "prompt_ids": " ".join(str(i) for i in selection.get("prompt_ids") or []),
        "sample": selection.get("sample"),
    }


@project_view(Capability.EVALUATE)
@require_http_methods(["GET", "POST"])
def set_create(request, access):
    tracks = list(project_track_labels(project=access.project).items())
    if request.method == "POST":
        form = EvaluationSetForm(request.POST, request.FILES, tracks=tracks)
        if form.is_valid():
            try:
                created = services.evaluation_set_create(
                    project=access.project, user=request.user, **form.service_input()
                )
            except ApplicationError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, f"Evaluation set “{created}” created: its prompts are held out of training.")
                return redirect("projects:evaluation:set", access.project.pk, created.pk)
    else:
        form = EvaluationSetForm(initial=_initial_from(request, access), tracks=tracks)
    status = 400 if form.is_bound else 200
    return render(request, "evaluation/set_create.html", project_context(access, SECTION, form=form), status=status)


@project_view(Capability.EVALUATE)
@require_GET
def set_detail(request, access, set_id: int):
    evaluation_set = _set_for_project(request, access, set_id)
    prompts, next_after = selectors.evaluation_set_prompt_page(
        evaluation_set=evaluation_set, after=request.GET.get("after"), size=PROMPTS_PER_PAGE
    )
    runs = evaluation_runs(evaluation_set=evaluation_set).reverse()
    history = [{"run": run, "score": selectors.run_score(run)} for run in runs]
    context = project_context(
        access,
        SECTION,
        evaluation_set=evaluation_set,
        selection=evaluation_set.selection if isinstance(evaluation_set.selection, dict) else {},
        prompts=prompts,
        next_after=next_after,
        history=history,
        chart=score_chart([(h["run"].number, h["score"]) for h in history]),
        track_labels=project_track_labels(project=access.project),
    )
    return render(request, "evaluation/set_detail.html", context)


@project_view(Capability.EVALUATE)
@require_POST
def set_delete(request, access, set_id: int):
    evaluation_set = _set_for_project(request, access, set_id)
    name = str(evaluation_set)
    try:
        services.evaluation_set_delete(evaluation_set=evaluation_set)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("projects:evaluation:set", access.project.pk, evaluation_set.pk)
    messages.success(
        request, f"Evaluation set “{name}” deleted; its prompts are back in training unless another set holds them."
    )
    return redirect("projects:evaluation:sets", access.project.pk)


# The score chart ---------------------------------------------------------------------------------

CHART_W, CHART_H, PAD_L, PAD_R, PAD_T, PAD_B = 480, 160, 36, 12, 10, 24


def score_chart(points: list[tuple[int, dict | None]]) -> dict | None:
    """SVG coordinates of a run history's scores (win rate in [0, 1]) with their intervals as
    whiskers: {"width", "height", "points": [{x, y, low, high, number, label}], "line", "grid"}.
    None when no run has a score (pure; the template draws it)."""
    scored = [(number, score) for number, score in points if score]
    if not scored:
        return None
    inner_w, inner_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B
    step = inner_w / max(len(scored) - 1, 1)

    def y(value: float) -> float:
        return round(PAD_T + inner_h * (1 - min(max(value, 0.0), 1.0)), 1)

    out = []
    for i, (number, score) in enumerate(scored):
        x = round(PAD_L + (step * i if len(scored) > 1 else inner_w / 2), 1)
        low = score.get("low") if isinstance(score.get("low"), int | float) else score["value"]
        high = score.get("high") if isinstance(score.get("high"), int | float) else score["value"]
        out.append(
            {"x": x, "x0": round(x - 4, 1), "x1": round(x + 4, 1), "y": y(score["value"]), "low": y(low),
             "high": y(high), "number": number,
             "label": f"Run {number}: {score['value']:.0%} ({low:.0%}–{high:.0%})"}
        )  # fmt: skip
    grid = [{"y": y(v), "label": f"{v:.0%}"} for v in (0.0, 0.5, 1.0)]
    return {
        "width": CHART_W,
        "height": CHART_H,
        "left": PAD_L,
        "right": CHART_W - PAD_R,
        "label_x": PAD_L - 4,
        "axis_y": CHART_H - 6,
        "points": out,
        "line": " ".join(f"{p['x']},{p['y']}" for p in out),
        "grid": grid,
    }


routes = [
    path("sets/", set_list, name="sets"),
    path("sets/new/", set_create, name="set-create"),
    path("sets/<id:set_id>/", set_detail, name="set"),
    path("sets/<id:set_id>/delete/", set_delete, name="set-delete"),
]
