"""Finished evaluation runs written directly with the ORM, for the triage tests (the run services
are written by another stream at the same time): a set, a run, its pairs (comparison work items of
purpose "evaluation") and the labels on them."""

from django.utils import timezone

from labelhub.evaluation.models import EvaluationPair, EvaluationRun, EvaluationSet, EvaluationSetPrompt, RunStatus
from labelhub.generation.models import ModelConfig
from labelhub.labeling.models import WorkItem, WorkPurpose

from ..exports import builders as b


def evaluation_set(project, prompts, name="core"):
    es = EvaluationSet.objects.create(project=project, name=name, prompt_count=len(prompts))
    EvaluationSetPrompt.objects.bulk_create(EvaluationSetPrompt(evaluation_set=es, prompt=p) for p in prompts)
    return es


def config(project, name):
    return ModelConfig.objects.get_or_create(
        project=project, name=name, defaults={"base_url": "http://127.0.0.1:9/v1", "model": name}
    )[0]


def run(evaluation_set, *, number=None, status=RunStatus.FINISHED, model="model-under-test"):
    project = evaluation_set.project
    number = number or (EvaluationRun.objects.filter(evaluation_set=evaluation_set).count() + 1)
    return EvaluationRun.objects.create(
        project=project,
        evaluation_set=evaluation_set,
        number=number,
        model_config=config(project, model),
        baseline_kind="config",
        baseline_config=config(project, "baseline-model"),
        status=status,
        finished_at=timezone.now() if status == RunStatus.FINISHED else None,
    )


def pair(r, prompt, test_text="test answer", baseline_text="baseline answer"):
    """A pair of run `r` on `prompt`: two new candidates and the comparison item between them."""
    test = prompt.candidates.create(content=test_text, source="generated", model_name="model-under-test")
    base = prompt.candidates.create(content=baseline_text, source="generated", model_name="baseline-model")
    item = WorkItem.objects.create(
        project=r.project,
        prompt=prompt,
        kind="comparison",
        purpose=WorkPurpose.EVALUATION,
        candidate_ids=[test.pk, base.pk],
        overlap=3,  # room for the labels a test gives it
        origin={"evaluation_run": r.pk, "evaluation_set": r.evaluation_set_id},
    )
    return EvaluationPair.objects.create(run=r, prompt=prompt, candidate=test, baseline_candidate=base, work_item=item)


def judge(p, user, version, *, result="win", flags=(), unsafe=False, rationale="", **fields):
    """A label of `user` on pair `p`: the answer under test wins, ties, loses or both are bad;
    `flags` ticked on the answer under test; `unsafe`: it was judged unsafe."""
    test, base = str(p.candidate_id), str(p.baseline_candidate_id)
    ranks = {"win": {test: 1, base: 2}, "loss": {test: 2, base: 1}, "tie": {test: 1, base: 1}}.get(result, {})
    extra = {"flags": {test: list(flags)}} if flags else {}
    if unsafe:
        extra["safety"] = {test: "unsafe", base: "safe"}
    return b.label(
        p.work_item, user, version, ranks=ranks, all_bad=result == "both_bad", rationale=rationale, **extra, **fields
    )
