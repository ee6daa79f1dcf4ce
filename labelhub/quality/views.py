"""Quality pages of a project: the statistics dashboard, the labeler table with quarantine and the
quality event log, the model leaderboard, and the adjudication of disputed items.

Who sees what, exactly as in the API:
- dashboard and labelers: admins, reviewers and engineers (`selectors.stats_access`); the
  statistics name labelers, so labelers get 403; non-members 404.
- quarantine / release and the event log: project admins (MANAGE).
- leaderboard (and its section of the dashboard): admins and engineers (SEE_PROVENANCE); it names
  models, which labelers and reviewers must not learn (it would bias their comparisons).
- adjudication: reviewers and admins (REVIEW).
- gold items (the list, and the "Gold answer" card of a prompt page with its set/unset forms):
  project admins (MANAGE).

Statistics pages read the one precomputed ProjectStats row (a worker writes it), so they render in
a constant number of queries whatever the number of labels; the charts are inline SVG drawn by the
`quality_charts` template tags. Each view parses input, calls selectors or one service, and renders.
"""

import json
import math
import time
from collections import Counter
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from labelhub.core.exceptions import ApplicationError, Forbidden, NotFound
from labelhub.core.forms import apply_service_error
from labelhub.core.ids import is_id, parse_id
from labelhub.core.pagination import bounded_count, keyset_page
from labelhub.labeling.models import Label, Quarantine, ReviewStatus, WorkItem, WorkKind
from labelhub.projects.decorators import project_context, project_view
from labelhub.projects.permissions import Capability
from labelhub.projects.rubric import ranking_pairs, schema_of
from labelhub.projects.selectors import ProjectAccess, project_schema
from labelhub.prompts.models import Candidate
from labelhub.prompts.views import prompt_detail_page

from . import selectors, services
from .forms import AdjudicateForm, GoldForm, GoldUnsetForm, ReasonForm
from .models import GoldStandard, ProjectStats, QualityEvent
from .templatetags.quality_charts import number

EVENTS_SHOWN = 50
ADJUDICATIONS_SHOWN = 50
GOLD_SHOWN = 50
# After "Recompute", the status box polls until a newer computation is stored, at most as long as
# a request stays "in flight" for the service (then the worker is presumably not running).
RECOMPUTE_WAIT_SECONDS = services.STATS_LOCK_SECONDS
REQUESTED = "Recomputing the statistics on a worker; this usually takes a few seconds to a few minutes."
ALREADY_REQUESTED = "A recomputation is already in flight: the statistics update when the worker finishes."
UNAVAILABLE = "The task queue cannot be reached right now; the statistics refresh on their own once it is back."


def stats_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate `view(request, access, **kwargs)` served under a `project_id` URL argument: login
    first, then `selectors.stats_access` (admins, reviewers, engineers): labelers get 403 and
    non-members 404."""

    @wraps(view)
    def wrapped(request: HttpRequest, project_id: int, *args, **kwargs) -> HttpResponse:
        try:
            access = selectors.stats_access(user=request.user, project_id=project_id)
            return view(request, access, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc

    return login_required(wrapped)


def _context(access: ProjectAccess, tab: str, **extra) -> dict:
    """project_context (with `can_see_quality`) plus the quality tab shown."""
    return project_context(access, "quality", tab=tab, **extra)


def _stats_context(payload: dict) -> dict:
    """The payload for the templates. `has_stats`: a computation stored something (the payload
    adds an empty "labelers" list even before the first computation)."""
    data = payload["data"]
    return {"stats": payload, "data": data, "has_stats": any(key != "labelers" for key in data)}


def _url(name: str, project_id: int, anchor: str = "", query: str = "") -> str:
    url = reverse(f"projects:quality:{name}", args=[project_id])
    return url + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")


# Dashboard ------------------------------------------------------------------------------------------


def _computed_at(project):
    return ProjectStats.objects.filter(project=project).values_list("computed_at", flat=True).first()


def _stamp(computed_at) -> str:
    return f"{computed_at.timestamp():.6f}" if computed_at else "0"


def _waiting(params: QueryDict, computed_at) -> dict | None:
    """Where an awaited recomputation stands. The page that asked for it carries
    ?after=<computed_at it showed>&since=<when it asked>: "done" once a newer computation is
    stored, "stale" once the request outlived its lock, else "waiting" (the status box polls)."""
    try:
        after, since = float(params["after"]), float(params["since"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(after) and math.isfinite(since)):
        return None
    current = computed_at.timestamp() if computed_at else 0.0
    if current > after + 0.001:  # the stamp is rounded to the microsecond
        return {"state": "done"}
    if time.time() - since > RECOMPUTE_WAIT_SECONDS:
        return {"state": "stale"}
    return {"state": "waiting", "query": urlencode({"after": f"{after:.6f}", "since": f"{since:.0f}"})}


@stats_view
@require_GET
def dashboard(request, access):
    """Charts and figures of the stored statistics (one row), or an empty state until the first
    computation. Reviewers also see how many disputed items wait for them."""
    payload = selectors.project_stats_payload(
        project=access.project, include_labelers=True, include_models=access.can(Capability.SEE_PROVENANCE)
    )
    waiting_items = None
    if access.can(Capability.REVIEW):
        waiting_items = bounded_count(selectors.items_needing_adjudication(project=access.project), cap=1000)
    context = _context(
        access,
        "dashboard",
        **_stats_context(payload),
        waiting=_waiting(request.GET, payload["computed_at"]),
        adjudication_count=waiting_items,
    )
    return render(request, "quality/dashboard.html", context)


@stats_view
@require_POST
def recompute(request, access):
    """Ask a worker to recompute now (at most one request in flight per project). htmx gets the
    status box back, polling until the new statistics are stored; without htmx, a redirect to
    the dashboard, which polls the same way."""
    outcome = services.project_stats_request(project_id=access.project.pk)
    requested = outcome == services.STATS_SENT
    notice = {services.STATS_SENT: REQUESTED, services.STATS_IN_FLIGHT: ALREADY_REQUESTED}.get(outcome, UNAVAILABLE)
    query = urlencode({"after": _stamp(_computed_at(access.project)), "since": f"{time.time():.0f}"})
    if request.htmx:
        waiting = _waiting(QueryDict(query), None)
        context = _context(access, "dashboard", notice=notice, waiting=waiting)
        return render(request, "quality/dashboard.html#stats-status", context)
    (messages.success if requested else messages.info)(request, notice)
    return redirect(_url("dashboard", access.project.pk, query=query))


@stats_view
@require_GET
def recompute_status(request, access):
    """Polled by the status box (htmx) while a recomputation is awaited: the box again, or a full
    reload once the new statistics are there. Without htmx: the dashboard."""
    if not request.htmx:
        return redirect(_url("dashboard", access.project.pk))
    waiting = _waiting(request.GET, _computed_at(access.project))
    if waiting and waiting["state"] == "done":
        return HttpResponseClientRefresh()
    return render(request, "quality/dashboard.html#stats-status", _context(access, "dashboard", waiting=waiting))


# Labelers -------------------------------------------------------------------------------------------


def _detail(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _labelers_page(request, access, *, failed: dict | None = None, status: int = 200) -> HttpResponse:
    """The labeler table; for admins, the quarantine forms, the quarantines in force and the event
    log. `failed`: {"user_id", "action", "form"} of a refused quarantine/release (shown again)."""
    payload = selectors.project_stats_payload(project=access.project, include_labelers=True, include_models=False)
    rows = [row for row in payload["data"].get("labelers") or [] if isinstance(row, dict)]
    can_manage = access.can(Capability.MANAGE)
    quarantines, events = [], []
    if can_manage:
        quarantines = list(
            Quarantine.objects.filter(project=access.project, active=True)
            .select_related("user", "created_by")
            .order_by("-id")
        )
        events = [
            {"event": event, "details": [(key, _detail(value)) for key, value in (event.details or {}).items()]}
            for event in QualityEvent.objects.filter(project=access.project)
            .select_related("actor", "subject")
            .order_by("-id")[:EVENTS_SHOWN]
        ]
    flags_seen = sorted(
        {str(f) for row in rows for f in (row.get("flags") or []) if isinstance(row.get("flags"), list)}
    )
    context = _context(
        access,
        "labelers",
        **_stats_context(payload),
        rows=rows,
        flags_seen=flags_seen,
        quarantines=quarantines,
        events=events,
        events_shown=EVENTS_SHOWN,
        failed=failed,
    )
    return render(request, "quality/labelers.html", context, status=status)


@stats_view
@require_GET
def labelers(request, access):
    return _labelers_page(request, access)


def _quarantine_action(request, access, user_id: int, action: str) -> HttpResponse:
    form = ReasonForm(request.POST)
    if form.is_valid():
        service = services.labeler_quarantine if action == "quarantine" else services.labeler_release
        try:
            quarantine = service(
                project=access.project, user_id=user_id, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except NotFound:
            raise  # an unknown labeler: 404 (project_view)
        except ApplicationError as exc:  # already quarantined, not quarantined, oneself, a bad reason
            apply_service_error(form, exc)
        else:
            name = quarantine.user.get_username()
            if action == "quarantine":
                messages.success(
                    request,
                    f"{name} is quarantined: their labels leave exports by default, the items they labeled go "
                    "back to the queue, and they cannot claim new work until released.",
                )
            else:
                messages.success(request, f"{name}'s quarantine is lifted: their labels count again.")
            return redirect(_url("labelers", access.project.pk, anchor=f"labeler-{user_id}"))
    failed = {"user_id": user_id, "action": action, "form": form}
    return _labelers_page(request, access, failed=failed, status=400)


@project_view(Capability.MANAGE)
@require_POST
def labeler_quarantine(request, access, user_id: int):
    return _quarantine_action(request, access, user_id, "quarantine")


@project_view(Capability.MANAGE)
@require_POST
def labeler_release(request, access, user_id: int):
    return _quarantine_action(request, access, user_id, "release")


# Leaderboard ----------------------------------------------------------------------------------------


@project_view(Capability.SEE_PROVENANCE)
@require_GET
def leaderboard(request, access):
    """The model leaderboard, for admins and engineers: labelers and reviewers (403) would learn
    which model their own comparisons favour, and could then judge the model rather than the answer."""
    payload = selectors.project_stats_payload(project=access.project, include_labelers=False, include_models=True)
    context = _context(access, "leaderboard", **_stats_context(payload))
    return render(request, "quality/leaderboard.html", context)


# Adjudication ---------------------------------------------------------------------------------------


def _letter(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else str(index + 1)


def _ranking(ranks, positions: dict[str, int]) -> list[dict]:
    """A label's ranks {candidate id: rank} as rows, best first (ties share a rank)."""
    rows = [
        {
            "rank": number(rank),
            "candidate_id": cid,
            "answer": _letter(positions[cid]) if cid in positions else f"#{cid}",
        }
        for cid, rank in (ranks.items() if isinstance(ranks, dict) else [])
    ]
    rows.sort(key=lambda row: (row["rank"] is None, row["rank"] or 0, row["answer"]))
    for row in rows:
        row["rank"] = "?" if row["rank"] is None else f"{row['rank']:g}"
    return rows


def _adjudication_page(request, access, *, failed: dict | None = None, status: int = 200) -> HttpResponse:
    """Disputed items with their labels (`selectors.adjudication_queue`) and the candidates they
    rank, one form per item. `failed`: {"work_item_id", "form"} of a refused adjudication; shown on
    its item, or above the list when the item is no longer waiting."""
    queue = selectors.adjudication_queue(project=access.project, limit=ADJUDICATIONS_SHOWN)
    total = bounded_count(selectors.items_needing_adjudication(project=access.project), cap=1000)
    wanted = {int(c) for item in queue for c in item["candidate_ids"]}
    fields = ("pk", "content", "model_name") if access.can(Capability.SEE_PROVENANCE) else ("pk", "content")
    candidates = {c.pk: c for c in Candidate.objects.filter(pk__in=wanted).only(*fields)}
    me = request.user.get_username()
    items = []
    for item in queue:
        ids = [str(c) for c in item["candidate_ids"]]
        positions = {cid: i for i, cid in enumerate(ids)}
        form = failed["form"] if failed and failed["work_item_id"] == item["work_item_id"] else None
        items.append(
            {
                **item,
                "candidates": [
                    {"answer": _letter(i), "id": cid, "candidate": candidates.get(int(cid))}
                    for i, cid in enumerate(ids)
                ],
                "labels": [
                    {**label, "order": _ranking(label["ranks"], positions), "mine": label["labeler"] == me}
                    for label in item["labels"]
                ],
                "form": form,
                "kept": str(form["keep_label"].value()) if form is not None else "",
            }
        )
    orphan = failed if failed and not any(item["form"] is not None for item in items) else None
    context = _context(access, "adjudication", items=items, total=total, orphan=orphan, shown=ADJUDICATIONS_SHOWN)
    return render(request, "quality/adjudication.html", context, status=status)


@project_view(Capability.REVIEW)
@require_GET
def adjudication(request, access):
    return _adjudication_page(request, access)


@project_view(Capability.REVIEW)
@require_POST
def adjudicate(request, access, work_item_id: int):
    """Keep one label of a disputed item (the others are rejected) with a required comment."""
    if not WorkItem.objects.filter(project=access.project, pk=work_item_id).exists():
        raise Http404("Work item not found.")
    form = AdjudicateForm(request.POST)
    if form.is_valid():
        try:
            label = services.item_adjudicate(
                work_item_id=work_item_id,
                reviewer=request.user,
                keep_label_id=form.cleaned_data["keep_label"],
                comment=form.cleaned_data["comment"],
            )
        except NotFound:
            raise
        except ApplicationError as exc:  # settled meanwhile, one's own label, not one of its labels
            apply_service_error(form, exc)
        else:
            messages.success(
                request,
                f"Item #{work_item_id} settled: label #{label.pk} by {label.user.get_username()} kept, "
                "the item's other labels rejected.",
            )
            return redirect(_url("adjudication", access.project.pk))
    return _adjudication_page(request, access, failed={"work_item_id": work_item_id, "form": form}, status=400)


# Gold items -----------------------------------------------------------------------------------------
# The "Gold answer" card lives on the prompt page (templates/prompts/detail.html asks for it with
# {% prompt_gold_card %}, quality/templatetags/quality_gold.py); its forms post here, and a refused
# form re-renders that prompt page with a 400.


def _answers(candidate_ids, candidates: dict) -> dict[str, dict]:
    """The compared candidates by id (as strings), in the item's order: letter, id and Candidate."""
    answers = {}
    for i, cid in enumerate(str(c) for c in candidate_ids):
        try:
            candidate = candidates.get(int(cid))
        except ValueError:
            candidate = None
        answers[cid] = {"letter": _letter(i), "id": cid, "candidate": candidate}
    return answers


def _answer(answers: dict[str, dict], cid) -> dict:
    return answers.get(str(cid)) or {"letter": f"#{cid}", "id": str(cid), "candidate": None}


def _shown(value) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _expected_answers(gold: GoldStandard, answers: dict[str, dict], schema) -> list[dict]:
    """The expected answers per candidate (item order), each question by its label in `schema` (the
    project's current one; a question it no longer has shows its name)."""
    order = {cid: i for i, cid in enumerate(answers)}
    stored = gold.answers if isinstance(gold.answers, dict) else {}
    rows = []
    for cid, values in sorted(stored.items(), key=lambda kv: (order.get(str(kv[0]), len(order)), str(kv[0]))):
        items = []
        for name, value in (values if isinstance(values, dict) else {}).items():
            q = schema.question(name) if schema is not None else None
            items.append({"label": q.label if q else name, "value": _shown(value)})
        rows.append({"answer": _answer(answers, cid), "items": items})
    return rows


def _expected(gold: GoldStandard, answers: dict[str, dict], schema=None) -> dict:
    """A gold answer for display: pairs (better, worse), the flags and answers expected per answer (in
    the item's order), the scale tolerance, "all bad" (True, False or None: not part of it)."""
    order = {cid: i for i, cid in enumerate(answers)}
    pairs = [p for p in gold.pairs or [] if isinstance(p, list | tuple) and len(p) == 2]
    flags = gold.flags if isinstance(gold.flags, dict) else {}
    return {
        "pairs": [{"better": _answer(answers, a), "worse": _answer(answers, b)} for a, b in pairs],
        "flags": [
            {"answer": _answer(answers, cid), "flags": wanted}
            for cid, wanted in sorted(flags.items(), key=lambda kv: (order.get(str(kv[0]), len(order)), str(kv[0])))
        ],
        "answers": _expected_answers(gold, answers, schema),
        "tolerance": gold.tolerance,
        "all_bad": gold.all_bad,
    }


def _ranks_from_pairs(pairs, candidate_ids) -> dict[str, int]:
    """The ranking a gold's pairs came from, when they are exactly the pairs of one (ranks 1..K,
    ties sharing a rank): {candidate id: rank}; {} otherwise (the form then starts blank)."""
    ids = [str(c) for c in candidate_ids]
    wanted = {(str(p[0]), str(p[1])) for p in pairs or [] if isinstance(p, list | tuple) and len(p) == 2}
    if not wanted:
        return {}
    ranked = {c for pair in wanted for c in pair}
    ranks = {cid: 1 + sum((other, cid) in wanted for other in ranked) for cid in ids if cid in ranked}
    return ranks if set(ranking_pairs(ranks, "all")) == wanted else {}


def _gold_form(access: ProjectAccess, item: WorkItem, data=None, gold: GoldStandard | None = None) -> GoldForm:
    """The gold form of an item, its inputs from the project's current schema for the prompt's track;
    unbound, it starts from the current answer (`gold`)."""
    schema = project_schema(project=access.project)
    form = GoldForm(data, candidate_ids=item.candidate_ids, schema=schema, track=item.prompt.track)
    if data is None and gold is not None:
        initial = {f"rank_{c}": str(r) for c, r in _ranks_from_pairs(gold.pairs, item.candidate_ids).items()}
        form.initial = initial | form.initial_from(gold) | {"all_bad": bool(gold.all_bad), "note": gold.note}
    return form


def gold_card(
    access: ProjectAccess, prompt, *, form: GoldForm | None = None, unset_form: GoldUnsetForm | None = None
) -> dict | None:
    """The "Gold answer" card of a prompt page: for admins, when the prompt has a comparison item.
    The current expected answer (if gold) with the unset form, and the form that sets or replaces
    it: per compared candidate (item order) a rank select and an input per question of the schema."""
    if not access.can(Capability.MANAGE):
        return None
    item = WorkItem.objects.filter(prompt=prompt, kind=WorkKind.COMPARISON).first()
    if item is None:
        return None
    gold = GoldStandard.objects.filter(work_item=item).select_related("created_by").first() if item.is_gold else None
    ids = [str(c) for c in item.candidate_ids]
    candidates = {c.pk: c for c in Candidate.objects.filter(pk__in=[parse_id(c) for c in ids if is_id(c)])}
    answers = _answers(ids, candidates)
    if form is None:
        form = _gold_form(access, item, gold=gold)
    return {
        "item": item,
        "gold": gold,
        "expected": _expected(gold, answers, form.schema) if gold else None,
        "rows": [
            {**answer, "rank": form.rank_field(cid), "questions": form.answer_fields(cid)}
            for cid, answer in answers.items()
        ],
        "form": form,
        "unset_form": unset_form or GoldUnsetForm(),
        "ranking": form.schema.ranking,
        "gold_rate": access.project.gold_rate,
        "gold_overlap": services.GOLD_OVERLAP,
    }


def _gold_item(access: ProjectAccess, work_item_id: int) -> WorkItem:
    item = (
        WorkItem.objects.filter(project=access.project, pk=work_item_id, kind=WorkKind.COMPARISON)
        .select_related("prompt")
        .first()
    )
    if item is None:
        raise Http404("Work item not found.")
    return item


def _prompt_page(request, access, item: WorkItem, *, status: int, **card) -> HttpResponse:
    return prompt_detail_page(request, access, item.prompt, gold=gold_card(access, item.prompt, **card), status=status)


def _prompt_url(access: ProjectAccess, item: WorkItem) -> str:
    return reverse("projects:prompts:detail", args=[access.project.pk, item.prompt_id]) + "#gold"


GOLD_FIELD_LABELS = {"pairs": "Ranking", "ranking": "Ranking", "flags": "Flags", "answers": "Answers"}


def _gold_error(form: GoldForm, exc: ApplicationError) -> None:
    """The service's message, and its per-field messages: on the note, "all bad", tolerance and answer
    fields ("answers.<candidate>.<question>" → that input), or above the form for the ranking and
    flags (which span several inputs)."""
    apply_service_error(form, exc)
    for name, errors in (exc.extra.get("fields") or {}).items():
        _root, _dot, rest = name.partition(".")
        cid, _dot, question = rest.partition(".")
        field = f"answer_{cid}_{question}"
        if name.startswith("answers.") and field in form.fields and field not in form.errors:
            for error in errors if isinstance(errors, list) else [errors]:
                form.add_error(field, str(error))
        elif name not in form.fields:
            for error in errors if isinstance(errors, list) else [errors]:
                form.add_error(None, f"{GOLD_FIELD_LABELS.get(name, name)}: {error}")


@project_view(Capability.MANAGE)
@require_POST
def gold_set(request, access, work_item_id: int):
    """Mark a prompt's comparison item gold with its expected answer, or replace that answer."""
    item = _gold_item(access, work_item_id)
    form = _gold_form(access, item, request.POST)
    if form.is_valid():
        try:
            services.gold_set(work_item_id=item.pk, user=request.user, data=form.gold_data())
        except (NotFound, Forbidden):
            raise
        except ApplicationError as exc:  # contradictory pairs, "all bad" with a ranking, nothing expected, …
            _gold_error(form, exc)
        else:
            messages.success(
                request,
                f"Item #{item.pk} is gold: every labeler gets it once, at the project's gold rate, and their "
                "answers count towards their gold accuracy.",
            )
            return redirect(_prompt_url(access, item))
    return _prompt_page(request, access, item, form=form, status=400)


@project_view(Capability.MANAGE)
@require_POST
def gold_unset(request, access, work_item_id: int):
    """Remove the gold mark (a reason is required and logged). From the gold list (`back=gold`) or
    the prompt page; a refused form re-renders the page it came from."""
    item = _gold_item(access, work_item_id)
    form = GoldUnsetForm(request.POST)
    from_list = request.POST.get("back") == "gold"
    if form.is_valid():
        try:
            services.gold_unset(work_item_id=item.pk, user=request.user, reason=form.cleaned_data["reason"])
        except (NotFound, Forbidden):
            raise
        except ApplicationError as exc:  # not gold (any more), a bad reason
            apply_service_error(form, exc)
        else:
            messages.success(
                request,
                f"Item #{item.pk} is no longer gold: it is ordinary work again, and the labels it has keep counting.",
            )
            return redirect(_url("gold", access.project.pk) if from_list else _prompt_url(access, item))
    if from_list:
        return _gold_page(request, access, failed={"work_item_id": item.pk, "form": form}, status=400)
    return _prompt_page(request, access, item, unset_form=form, status=400)


def _gold_page(request, access, *, failed: dict | None = None, status: int = 200) -> HttpResponse:
    """Gold items newest first (keyset pages of GOLD_SHOWN), each with its prompt, expected answer,
    and how many labelers answered it and got it right (`services.gold_correct` over its
    non-rejected labels, read in one query for the page). `failed`: a refused unset form."""
    qs = selectors.gold_items(project=access.project).select_related("work_item__prompt")
    qs = qs.defer("work_item__prompt__messages", "work_item__prompt__metadata")
    before = request.GET.get("before") if failed is None else None
    golds, next_before = keyset_page(qs, cursor=before, size=GOLD_SHOWN, newest_first=True)
    by_item = {gold.work_item_id: gold for gold in golds}
    answered, correct = Counter(), Counter()
    labels = (
        Label.objects.filter(project=access.project, work_item_id__in=list(by_item))
        .exclude(review_status=ReviewStatus.REJECTED)
        .order_by()
        .values_list("work_item_id", "ranks", "flags", "ratings", "all_bad", "guideline_version__schema")
    )
    for item_id, ranks, flags, ratings, all_bad, schema in labels:
        answered[item_id] += 1
        correct[item_id] += services.gold_correct(
            by_item[item_id],
            ranks=ranks if isinstance(ranks, dict) else {},
            flags=flags if isinstance(flags, dict) else {},
            answers=ratings if isinstance(ratings, dict) else {},
            all_bad=all_bad,
            schema=schema_of(schema),
            track=by_item[item_id].work_item.prompt.track,
        )
    wanted = {parse_id(str(c)) for gold in golds for c in gold.work_item.candidate_ids if is_id(str(c))}
    candidates = {c.pk: c for c in Candidate.objects.filter(pk__in=wanted).only("pk", "content")}
    rows, schema = [], project_schema(project=access.project)
    for gold in golds:
        n, right = answered[gold.work_item_id], correct[gold.work_item_id]
        form = failed["form"] if failed and failed["work_item_id"] == gold.work_item_id else None
        rows.append(
            {
                "gold": gold,
                "item": gold.work_item,
                "expected": _expected(gold, _answers(gold.work_item.candidate_ids, candidates), schema),
                "answered": n,
                "correct": right,
                "accuracy": right / n if n else None,
                "form": form,
            }
        )
    orphan = failed if failed and not any(row["form"] is not None for row in rows) else None
    context = _context(
        access,
        "gold",
        rows=rows,
        next_before=next_before,
        is_first_page=not before,
        orphan=orphan,
        gold_rate=access.project.gold_rate,
        gold_overlap=services.GOLD_OVERLAP,
        shown=GOLD_SHOWN,
    )
    return render(request, "quality/gold.html", context, status=status)


@project_view(Capability.MANAGE)
@require_GET
def gold(request, access):
    return _gold_page(request, access)
