"""Triage pages (TRIAGE: admins, reviewers): a finished run's condemned answers with the comparison
that condemned them, a decision per answer (fix / won't fix / duplicate; htmx swaps the item, a plain
POST redirects back), and a set's summary across its runs. Nothing here names a model config."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from labelhub.core.exceptions import ApplicationError, Forbidden, NotFound
from labelhub.core.forms import apply_service_error
from labelhub.projects.decorators import project_context, project_view
from labelhub.projects.permissions import Capability

from ..models import EvaluationSet, TriageItem, TriageStatus
from ..selectors import triage as selectors
from ..services.triage import triage_decide
from ..triage_forms import TriageDecideForm, TriageFilterForm

ITEMS_PER_PAGE = 25
DONE = {
    TriageStatus.FIX: "sent to fix: a labeler will get it as a demonstration task that starts from this answer",
    TriageStatus.WONT_FIX: "marked won't fix",
    TriageStatus.DUPLICATE: "marked as a duplicate",
}


def _run_or_404(access, run_id):
    run = selectors.triage_run_for_project(project_id=access.project.pk, run_id=run_id)
    if run is None:
        raise Http404("Evaluation run not found.")
    return run


def _triage_url(project_id: int, run_id: int, item_id: int | None = None) -> str:
    url = reverse("projects:evaluation:triage", args=[project_id, run_id])
    return f"{url}#triage-{item_id}" if item_id else url


def _filters(request, facets) -> tuple[TriageFilterForm, selectors.TriageFilters]:
    form = TriageFilterForm(request.GET or None, tracks=facets["tracks"], flags=facets["flags"])
    if form.is_bound and form.is_valid():
        return form, selectors.TriageFilters(
            **{k: form.cleaned_data.get(k) or "" for k in ("status", "reason", "track", "flag")}
        )
    return form, selectors.TriageFilters()


def _page(request, access, run, *, failed: dict | None = None, status: int = 200):
    facets = selectors.triage_facets(run=run)
    form, filters = _filters(request, facets)
    page = Paginator(selectors.triage_items(run=run, filters=filters), ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    rows = selectors.triage_rows(item_ids=[item.pk for item in page.object_list])
    for row in rows:
        row["form"] = failed["form"] if failed and failed["item_id"] == row["item"].pk else None
    query = request.GET.copy()
    query.pop("page", None)
    context = project_context(
        access, "evaluation", run=run, rows=rows, page=page, facets=facets, filter_form=form, query=query.urlencode()
    )
    return render(request, "evaluation/triage.html", context, status=status)


@project_view(Capability.TRIAGE)
@require_GET
def triage(request, access, run_id: int):
    return _page(request, access, _run_or_404(access, run_id))


def _item_response(request, access, run, item_id: int, form=None, status: int = 200):
    rows = selectors.triage_rows(item_ids=[item_id])
    context = project_context(access, "evaluation", run=run, row={**rows[0], "form": form})
    return render(request, "evaluation/_triage_item.html", context, status=status)


@project_view(Capability.TRIAGE)
@require_POST
@vary_on_headers("HX-Request")
def triage_decide_view(request, access, run_id: int, item_id: int):
    """Decide one item. htmx gets the item back (with the form's errors when refused); a plain POST
    is redirected to the item on the run's page, or gets the page again with the errors (400)."""
    run = _run_or_404(access, run_id)
    item = TriageItem.objects.select_related("run").filter(run=run, pk=item_id).first()
    if item is None:
        raise Http404("Triage item not found.")
    form = TriageDecideForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            decided = triage_decide(
                item=item,
                user=request.user,
                status=data["status"],
                note=data["note"],
                duplicate_of=data["duplicate_of"],
            )
        except (NotFound, Forbidden):
            raise
        except ApplicationError as exc:  # unfinished run (409), already fixed, a bad duplicate
            apply_service_error(form, exc)
        else:
            if request.htmx:
                return _item_response(request, access, run, item.pk)
            messages.success(request, f"Item #{decided.pk} {DONE[decided.status]}.")
            return redirect(_triage_url(access.project.pk, run.pk, decided.pk))
    if request.htmx:  # htmx swaps 2xx responses only: the item with its errors
        return _item_response(request, access, run, item.pk, form=form)
    return _page(request, access, run, failed={"item_id": item.pk, "form": form}, status=400)


@project_view(Capability.TRIAGE)
@require_GET
def triage_summary(request, access, set_id: int):
    evaluation_set = EvaluationSet.objects.filter(project=access.project, pk=set_id).first()
    if evaluation_set is None:
        raise Http404("Evaluation set not found.")
    rows = selectors.triage_summary(evaluation_set=evaluation_set)
    context = project_context(access, "evaluation", evaluation_set=evaluation_set, rows=rows)
    return render(request, "evaluation/triage_summary.html", context)


routes = [
    path("runs/<id:run_id>/triage/", triage, name="triage"),
    path("runs/<id:run_id>/triage/<id:item_id>/decide", triage_decide_view, name="triage-decide"),
    path("sets/<id:set_id>/triage-summary/", triage_summary, name="triage-summary"),
]
