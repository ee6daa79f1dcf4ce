"""Evaluation runs: the model under test against a baseline on a frozen set.

A run's life: created (sampling frozen, candidates reused or generated through the generation queue,
one pair per prompt) → generating → labeling (every pair has its comparison item, or its generation
failed for good) → finished (every item has its labels: the report is frozen, triage items made).
`evaluation_run_advance` is the one function that moves a run along; it is idempotent and holds the
run's row lock, so the beat, the generation hook and the labeling hook may call it at once.
A cancelled run stops serving its items (each item's overlap clamped to the slots already taken:
no label or lease is lost) until resumed. A finished run never changes again."""

import logging

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError, Conflict
from labelhub.generation.models import GenerationJob, JobStatus, ModelConfig
from labelhub.generation.selectors import BatchTarget
from labelhub.generation.services import generation_batch_create
from labelhub.labeling.models import WorkItem, WorkKind, WorkPurpose
from labelhub.prompts.models import Candidate, CandidateSource

from ..models import BaselineKind, EvaluationPair, EvaluationRun, EvaluationSet, EvaluationSetPrompt, RunStatus
from ..selectors.report import report_compute
from .triage import triage_items_create

logger = logging.getLogger(__name__)

OPEN_STATUSES = (RunStatus.GENERATING, RunStatus.LABELING)


# --- creation ------------------------------------------------------------------------------------


def sampling_of(config: ModelConfig) -> dict:
    """What a candidate of `config` must have been generated with to stand for it in a run."""
    return {"model": config.model, **config.sampling_snapshot(), "system_prompt": config.system_prompt}


def _provenance_matches(provenance: dict, sampling: dict) -> bool:
    p = provenance if isinstance(provenance, dict) else {}
    wanted = {k: v for k, v in sampling.items() if k not in ("model", "system_prompt")}
    return (
        p.get("model_requested") == sampling["model"]
        and p.get("system_prompt", "") == sampling["system_prompt"]
        and p.get("sampling") == wanted
    )


def reusable_candidates(*, config: ModelConfig, prompt_ids: list[int], sampling: dict) -> dict[int, int]:
    """{prompt id: candidate id}: the oldest generated candidate of `config` per prompt whose
    provenance (generation_job_run) records the same model, sampling parameters and system prompt."""
    found: dict[int, int] = {}
    rows = (
        Candidate.objects.filter(model_config=config, source=CandidateSource.GENERATED, prompt_id__in=prompt_ids)
        .order_by("id")
        .values_list("id", "prompt_id", "provenance")
    )
    for cid, pid, provenance in rows.iterator(chunk_size=2000):
        if pid not in found and _provenance_matches(provenance, sampling):
            found[pid] = cid
    return found


def _check_config(config, *, project, field: str) -> None:
    if config is None or config.project_id != project.pk:
        raise ApplicationError("Model config not found in this project.", extra={"fields": {field: ["Not found."]}})
    if not config.is_active:
        raise ApplicationError("This model config is deactivated.", extra={"fields": {field: ["Deactivated."]}})


def _check_baseline(*, evaluation_set, model_config, baseline_kind, baseline_config, baseline_run) -> None:
    project = evaluation_set.project
    if baseline_kind == BaselineKind.CONFIG:
        _check_config(baseline_config, project=project, field="baseline_config")
        if baseline_config.pk == model_config.pk:
            raise ApplicationError(
                "The baseline must be another model config.", extra={"fields": {"baseline_config": ["Same config."]}}
            )
    elif baseline_kind == BaselineKind.REFERENCE:
        lacking = EvaluationSetPrompt.objects.filter(evaluation_set=evaluation_set, reference__isnull=True).count()
        if lacking:
            raise ApplicationError(
                f"{lacking} prompt(s) of the set have no reference answer.",
                extra={"fields": {"baseline_kind": [f"{lacking} prompt(s) lack a reference."]}, "lacking": lacking},
            )
    elif baseline_kind == BaselineKind.RUN:
        if baseline_run is None or baseline_run.evaluation_set_id != evaluation_set.pk:
            raise ApplicationError(
                "The baseline run must be a run of the same set.", extra={"fields": {"baseline_run": ["Not found."]}}
            )
        if not EvaluationPair.objects.filter(run=baseline_run, candidate__isnull=False).exists():
            raise ApplicationError(
                "The baseline run has no answers.", extra={"fields": {"baseline_run": ["No answers."]}}
            )
    else:
        raise ApplicationError("Unknown baseline kind.", extra={"fields": {"baseline_kind": ["Unknown."]}})


def _check_thresholds(thresholds) -> dict:
    thresholds = dict(thresholds or {})
    errors = {}
    for key, value in thresholds.items():
        if key not in ("min_win_rate", "max_unsafe_increase", "max_flag_increase"):
            errors[key] = ["Unknown threshold."]
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            errors[key] = ["A number from 0 to 1."]
    if errors:
        raise ApplicationError("Invalid thresholds.", extra={"fields": {"thresholds": errors}})
    return thresholds


@transaction.atomic
def evaluation_run_create(
    *,
    evaluation_set: EvaluationSet,
    user: User,
    model_config: ModelConfig,
    baseline_kind: str,
    baseline_config: ModelConfig | None = None,
    baseline_run: EvaluationRun | None = None,
    labels_per_pair: int = 1,
    thresholds: dict | None = None,
) -> EvaluationRun:
    """Start a run: freeze the sampling, reuse matching candidates, generate the rest, one pair per prompt."""
    project = evaluation_set.project
    _check_config(model_config, project=project, field="model_config")
    _check_baseline(
        evaluation_set=evaluation_set, model_config=model_config, baseline_kind=baseline_kind,
        baseline_config=baseline_config, baseline_run=baseline_run,
    )  # fmt: skip
    if isinstance(labels_per_pair, bool) or not isinstance(labels_per_pair, int) or not 1 <= labels_per_pair <= 9:
        raise ApplicationError("labels_per_pair: 1 to 9.", extra={"fields": {"labels_per_pair": ["1 to 9."]}})
    thresholds = _check_thresholds(thresholds)
    if not EvaluationSetPrompt.objects.filter(evaluation_set=evaluation_set).exists():
        raise ApplicationError("This set has no prompts.")
    EvaluationSet.objects.select_for_update().filter(pk=evaluation_set.pk).first()  # numbers per set, in turn
    number = (EvaluationRun.objects.filter(evaluation_set=evaluation_set).aggregate(m=Max("number"))["m"] or 0) + 1
    sampling = {"test": sampling_of(model_config)}
    if baseline_kind == BaselineKind.CONFIG:
        sampling["baseline"] = sampling_of(baseline_config)
    run = EvaluationRun.objects.create(
        project=project, evaluation_set=evaluation_set, number=number, model_config=model_config,
        baseline_kind=baseline_kind, baseline_config=baseline_config if baseline_kind == BaselineKind.CONFIG else None,
        baseline_run=baseline_run if baseline_kind == BaselineKind.RUN else None, labels_per_pair=labels_per_pair,
        sampling=sampling, thresholds=thresholds, created_by=user,
    )  # fmt: skip
    members = list(
        EvaluationSetPrompt.objects.filter(evaluation_set=evaluation_set).values_list("prompt_id", "reference_id")
    )
    prompt_ids = [pid for pid, _ref in members]
    test = _side(run=run, user=user, config=model_config, prompt_ids=prompt_ids, sampling=sampling["test"])
    baseline = _baseline_side(run=run, user=user, members=members)
    EvaluationPair.objects.bulk_create(
        [EvaluationPair(run=run, prompt_id=pid, candidate_id=test.get(pid), baseline_candidate_id=baseline.get(pid))
         for pid in prompt_ids],
        batch_size=2000,
    )  # fmt: skip
    run_id = run.pk
    transaction.on_commit(lambda: advance_later(run_id))
    return run


def _side(*, run, user, config, prompt_ids, sampling) -> dict[int, int]:
    """The candidates of one generated side: reused ones now; the others come from a batch of the run."""
    reused = reusable_candidates(config=config, prompt_ids=prompt_ids, sampling=sampling)
    missing = [pid for pid in prompt_ids if pid not in reused]
    if missing:
        batch = generation_batch_create(
            project=run.project, user=user, config=config, target=BatchTarget(prompt_ids=tuple(missing), samples=1)
        )
        run.batches.add(batch)
    return reused


def _baseline_side(*, run, user, members) -> dict[int, int]:
    if run.baseline_kind == BaselineKind.REFERENCE:
        return {pid: ref for pid, ref in members}
    if run.baseline_kind == BaselineKind.RUN:
        return dict(
            EvaluationPair.objects.filter(run=run.baseline_run, candidate__isnull=False).values_list(
                "prompt_id", "candidate_id"
            )
        )
    prompt_ids = [pid for pid, _ref in members]
    return _side(
        run=run, user=user, config=run.baseline_config, prompt_ids=prompt_ids, sampling=run.sampling["baseline"]
    )


def advance_later(run_id: int) -> None:
    from ..tasks import evaluation_run_advance_task

    try:
        evaluation_run_advance_task.apply_async(kwargs={"run_id": run_id})
    except Exception as exc:  # noqa: BLE001 - any broker failure: the beat advances it within ~15 s
        logger.warning("could not enqueue the advance of evaluation run %s: %s", run_id, type(exc).__name__)


# --- advancing -----------------------------------------------------------------------------------


def _generated(run: EvaluationRun) -> dict[tuple[int, int], int]:
    """{(prompt id, config id): candidate id} of the candidates the run's batches produced."""
    rows = (
        Candidate.objects.filter(generation_job__batch__in=run.batches.all())
        .order_by("id")
        .values_list("prompt_id", "model_config_id", "id")
    )
    found: dict[tuple[int, int], int] = {}
    for pid, config_id, cid in rows:
        found.setdefault((pid, config_id), cid)
    return found


def _failed_jobs(run: EvaluationRun) -> set[tuple[int, int]]:
    """(prompt id, config id) whose job in the run's batches failed for good."""
    return set(
        GenerationJob.objects.filter(batch__in=run.batches.all(), status=JobStatus.FAILED).values_list(
            "prompt_id", "model_config_id"
        )
    )


def pair_failure(run: EvaluationRun, pair: EvaluationPair, failed: set[tuple[int, int]]) -> str | None:
    """Why a pair without both answers will never get them, or None while it may."""
    if pair.candidate_id is None and (pair.prompt_id, run.model_config_id) in failed:
        return "test"
    if pair.baseline_candidate_id is None:
        if run.baseline_kind != BaselineKind.CONFIG:
            return "baseline"  # the reference or the previous run has no answer for it: none will come
        if (pair.prompt_id, run.baseline_config_id) in failed:
            return "baseline"
    return None


def _fill_pairs(run: EvaluationRun) -> bool:
    """Fill missing answers from finished jobs and make the comparison items; True when every pair
    has its item or failed for good."""
    pairs = list(EvaluationPair.objects.filter(run=run, work_item__isnull=True))
    if not pairs:
        return True
    generated = _generated(run) if any(p.candidate_id is None or p.baseline_candidate_id is None for p in pairs) else {}
    changed = []
    for pair in pairs:
        before = (pair.candidate_id, pair.baseline_candidate_id)
        if pair.candidate_id is None:
            pair.candidate_id = generated.get((pair.prompt_id, run.model_config_id))
        if pair.baseline_candidate_id is None and run.baseline_kind == BaselineKind.CONFIG:
            pair.baseline_candidate_id = generated.get((pair.prompt_id, run.baseline_config_id))
        if (pair.candidate_id, pair.baseline_candidate_id) != before or (
            pair.candidate_id and pair.baseline_candidate_id
        ):
            changed.append(pair)  # an answer came, or the pair gets its item below
    ready = [p for p in pairs if p.candidate_id and p.baseline_candidate_id]
    origin = {"evaluation_run": run.pk, "evaluation_set": run.evaluation_set_id}
    items = WorkItem.objects.bulk_create(
        [
            WorkItem(
                project_id=run.project_id, prompt_id=p.prompt_id, kind=WorkKind.COMPARISON,
                candidate_ids=[p.candidate_id, p.baseline_candidate_id], overlap=run.labels_per_pair,
                purpose=WorkPurpose.EVALUATION, origin=origin,
            )
            for p in ready
        ]
    )  # fmt: skip
    for pair, item in zip(ready, items, strict=True):
        pair.work_item = item
    if changed:  # the beat finds most pairs of a generating run unchanged: nothing written for them
        EvaluationPair.objects.bulk_update(changed, ["candidate", "baseline_candidate", "work_item"], batch_size=1000)
    waiting = [p for p in pairs if p.work_item_id is None]
    if not waiting:
        return True
    failed = _failed_jobs(run)
    return all(pair_failure(run, p, failed) for p in waiting)


def _all_labeled(run: EvaluationRun) -> bool:
    return not WorkItem.objects.filter(evaluation_pair__run=run, label_count__lt=F("overlap")).exists()


def _finish(run: EvaluationRun) -> None:
    run.report = report_compute(run=run)
    run.status = RunStatus.FINISHED
    run.finished_at = timezone.now()
    run.save(update_fields=["report", "status", "finished_at", "updated_at"])
    triage_items_create(run=run)


@transaction.atomic
def evaluation_run_advance(*, run_id: int) -> str | None:
    """Move the run as far as it can go now; returns its status (None if it no longer exists)."""
    run = EvaluationRun.objects.select_for_update(of=("self",)).filter(pk=run_id).first()
    if run is None or run.status == RunStatus.FINISHED:
        return run.status if run else None
    if run.status == RunStatus.CANCELLED:
        _clamp(run)  # a lease that expired since the cancel gave a slot back: close it again
        return run.status
    settled = _fill_pairs(run)
    if run.status == RunStatus.GENERATING and settled:
        run.status = RunStatus.LABELING
        run.save(update_fields=["status", "updated_at"])
    if run.status == RunStatus.LABELING and settled and _all_labeled(run):
        _finish(run)
    return run.status


def evaluation_runs_advance_open() -> int:
    """Advance every run not finished (the beat, every ~15 s). Returns how many were looked at."""
    ids = list(
        EvaluationRun.objects.filter(status__in=[*OPEN_STATUSES, RunStatus.CANCELLED]).values_list("pk", flat=True)
    )
    for run_id in ids:
        try:
            evaluation_run_advance(run_id=run_id)
        except Exception:  # one broken run must not stop the others
            logger.exception("advancing evaluation run %s failed", run_id)
    return len(ids)


def runs_waiting_on_job(*, job_id: int) -> list[int]:
    """Ids of the open runs whose batches hold this generation job."""
    through = EvaluationRun.batches.through
    return list(
        through.objects.filter(generationbatch__jobs__pk=job_id, evaluationrun__status__in=OPEN_STATUSES).values_list(
            "evaluationrun_id", flat=True
        )
    )


# --- cancel / resume -----------------------------------------------------------------------------


def _run_items(run: EvaluationRun):
    return WorkItem.objects.filter(evaluation_pair__run=run)


# While a run is cancelled, each clamped item remembers its overlap here (in WorkItem.origin), so a
# resume gives back what quality control may have raised it to, not just labels_per_pair.
OVERLAP_KEPT = "overlap_before_cancel"
ITEM_FIELDS = ("id", "overlap", "taken", "label_count", "origin")


def _clamp(run: EvaluationRun) -> int:
    """Stop serving the run's items: overlap down to the slots in use (labels and live leases). The
    rows are locked first: a claim waiting on one re-checks `taken < overlap` and finds no slot."""
    items = list(_run_items(run).filter(taken__lt=F("overlap")).select_for_update(of=("self",)).only(*ITEM_FIELDS))
    for item in items:
        item.origin = {**item.origin, OVERLAP_KEPT: item.origin.get(OVERLAP_KEPT, item.overlap)}
        item.overlap = max(item.taken, item.label_count)
    WorkItem.objects.bulk_update(items, ["overlap", "origin"], batch_size=1000)
    return len(items)


def _unclamp(run: EvaluationRun) -> None:
    items = list(_run_items(run).select_for_update(of=("self",)).only(*ITEM_FIELDS))
    for item in items:
        origin = dict(item.origin)
        kept = origin.pop(OVERLAP_KEPT, None)
        item.origin = origin
        item.overlap = max(kept or run.labels_per_pair, item.overlap, item.taken, item.label_count)
    WorkItem.objects.bulk_update(items, ["overlap", "origin"], batch_size=1000)


def _locked(run: EvaluationRun) -> EvaluationRun:
    locked = EvaluationRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
    if locked.status == RunStatus.FINISHED:
        raise Conflict("This run is finished: it can no longer change.", extra={"status": locked.status})
    return locked


@transaction.atomic
def evaluation_run_cancel(*, run: EvaluationRun, user: User) -> EvaluationRun:
    """Stop the run: its items are no longer served (no label or lease lost). Its queued generation
    jobs still run (generation has no cancel path): their candidates stay reusable."""
    run = _locked(run)
    if run.status == RunStatus.CANCELLED:
        raise Conflict("This run is already cancelled.", extra={"status": run.status})
    _clamp(run)
    run.status, run.cancelled_at = RunStatus.CANCELLED, timezone.now()
    run.save(update_fields=["status", "cancelled_at", "updated_at"])
    return run


@transaction.atomic
def evaluation_run_resume(*, run: EvaluationRun, user: User) -> EvaluationRun:
    """Serve the run's items again (each its overlap before the cancel) and carry on where it stopped."""
    run = _locked(run)
    if run.status != RunStatus.CANCELLED:
        raise Conflict("Only a cancelled run can be resumed.", extra={"status": run.status})
    _unclamp(run)
    run.status, run.cancelled_at = RunStatus.GENERATING, None
    run.save(update_fields=["status", "cancelled_at", "updated_at"])
    run_id = run.pk
    transaction.on_commit(lambda: advance_later(run_id))
    return run
