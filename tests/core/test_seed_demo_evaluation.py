"""seed_demo's evaluation: a held-out set and a finished run made through the run service (report frozen,
triage items), idempotent, and demo answers a real run never reuses."""

import io

import pytest
from django.core.management import call_command

from labelhub.evaluation.demo import PAIRS, SET_NAME
from labelhub.evaluation.models import EvaluationRun, EvaluationSet, RunStatus
from labelhub.evaluation.services.runs import reusable_candidates, sampling_of
from labelhub.generation.models import ModelConfig
from labelhub.labeling.models import Label, WorkPurpose
from labelhub.projects.models import Project
from labelhub.prompts.models import Candidate, Prompt


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return Project.objects.get(name__startswith="Demo"), out.getvalue()


@pytest.mark.django_db
def test_seed_demo_makes_a_finished_run_with_report_and_triage(demo):
    project, output = demo
    assert 'evaluation demo: set "demo held-out" (10 prompts held out), run #' in output
    assert "finished, 3 triage item(s)" in output
    evaluation_set = EvaluationSet.objects.get(project=project)
    assert (evaluation_set.name, evaluation_set.version, evaluation_set.prompt_count) == (SET_NAME, 1, 10)
    held = set(Prompt.objects.filter(project=project, held_out=True).values_list("external_id", flat=True))
    assert held == set(PAIRS)
    run = EvaluationRun.objects.get(evaluation_set=evaluation_set)
    assert run.number == 1 and run.status == RunStatus.FINISHED and run.finished_at is not None
    assert run.model_config.name == "Default model · T=1.0" and run.baseline_config.name == "Default model · T=0.7"
    score = run.report["overall"]["score"]
    assert run.report["overall"]["n_pairs"] == 10 and run.report["overall"]["n_labels"] == 20
    assert score["value"] == pytest.approx(0.7) and score["low"] < 0.5 <= score["high"]
    triage = {t.prompt.external_id: (sorted(t.reasons), t.flags, t.track) for t in run.triage_items.all()}
    assert triage == {
        "demo-009": (["lost"], [], "helpful"),
        "demo-014": (["flagged", "lost"], ["hallucination"], "helpful"),
        "demo-025": (["lost", "unsafe"], [], "red-team"),
    }
    labels = Label.objects.filter(work_item__purpose=WorkPurpose.EVALUATION)
    assert labels.count() == 20 and not labels.filter(demo=False).exists()
    assert set(labels.values_list("user__username", flat=True)) == {"labeler1", "labeler2"}
    # The held-out prompts carry none of the training demo labels.
    assert not Label.objects.filter(work_item__prompt__held_out=True, work_item__purpose="").exists()


@pytest.mark.django_db
def test_seed_demo_evaluation_is_idempotent(demo):
    project, _ = demo
    report = EvaluationRun.objects.get(project=project).report
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "evaluation demo" not in out.getvalue()
    assert EvaluationSet.objects.filter(project=project).count() == 1
    assert EvaluationRun.objects.get(project=project).report == report
    assert Label.objects.filter(project=project).count() == 30  # 10 training + 20 evaluation


@pytest.mark.django_db
def test_demo_answers_are_never_reused_by_a_real_run(demo):
    """They are "generated" answers of the demo's configs, but their provenance records no sampling."""
    project, _ = demo
    for config in ModelConfig.objects.filter(project=project):
        prompt_ids = list(Candidate.objects.filter(model_config=config).values_list("prompt_id", flat=True))
        assert len(prompt_ids) == 10
        assert reusable_candidates(config=config, prompt_ids=prompt_ids, sampling=sampling_of(config)) == {}
