"""Evaluation runs, the services and selectors (jobs run in-process against the fake server)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labelhub.core.exceptions import ApplicationError, Conflict
from labelhub.evaluation.models import EvaluationPair, EvaluationRun, RunStatus
from labelhub.evaluation.selectors.runs import evaluation_run_progress
from labelhub.evaluation.services import runs
from labelhub.generation import services as generation
from labelhub.generation.models import GenerationJob, JobStatus
from labelhub.labeling import services as labeling
from labelhub.labeling.models import Assignment, Label, WorkItem

from .runs_world import label_all, labeler, make_config, make_set, ranking

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, staff, fake_server, sent):
    fake_server.reply = lambda body: ("long " * 20 if body["model"] == "base" else "good") + " answer"
    return {
        "set": make_set(project, 3),
        "test": make_config(project, fake_server.base_url, "test"),
        "base": make_config(project, fake_server.base_url, "base"),
        "server": fake_server,
    }


def _create(world, staff, **kw):
    args = {"baseline_kind": "config", "baseline_config": world["base"], "labels_per_pair": 2, **kw}
    return runs.evaluation_run_create(evaluation_set=world["set"], user=staff, model_config=world["test"], **args)


def _run_jobs(run):
    for job in GenerationJob.objects.filter(batch__in=run.batches.all(), status=JobStatus.QUEUED):
        generation.generation_job_run(job_id=job.pk, task_id=job.task_id)


def test_create_freezes_sampling_numbers_runs_and_queues_one_sample_per_prompt(world, staff):
    run = _create(world, staff)
    assert run.number == 1 and run.status == RunStatus.GENERATING
    assert run.sampling["test"] == {
        "model": "test", "temperature": 0.7, "top_p": 1.0, "max_tokens": 256, "seed": None, "stop": [],
        "system_prompt": "",
    }  # fmt: skip
    assert run.sampling["baseline"]["model"] == "base"
    assert run.batches.count() == 2
    assert GenerationJob.objects.filter(batch__in=run.batches.all()).count() == 6  # 1 each, not candidates_per_prompt
    assert EvaluationPair.objects.filter(run=run, candidate=None, baseline_candidate=None).count() == 3
    assert _create(world, staff).number == 2


def test_candidates_with_the_same_sampling_are_reused_a_changed_temperature_generates(world, staff):
    first = _create(world, staff)
    _run_jobs(first)
    second = _create(world, staff)
    assert second.batches.count() == 0
    assert (
        EvaluationPair.objects.filter(run=second, candidate__isnull=False, baseline_candidate__isnull=False).count()
        == 3
    )
    generation.model_config_update(config=world["test"], data={"temperature": 0.2})
    third = _create(world, staff)
    (batch,) = third.batches.all()
    assert batch.model_config_id == world["test"].pk and batch.job_count == 3
    pairs = EvaluationPair.objects.filter(run=third)
    assert all(p.candidate_id is None and p.baseline_candidate_id is not None for p in pairs)
    assert third.sampling["test"]["temperature"] == 0.2


def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(world, staff, project, make_project, fake_server):
    other = make_config(make_project("Other"), fake_server.base_url, "elsewhere")
    bad = [
        ({"baseline_config": world["test"]}, "baseline_config"),
        ({"baseline_config": other}, "baseline_config"),
        ({"baseline_config": None}, "baseline_config"),
        ({"labels_per_pair": 0}, "labels_per_pair"),
        ({"labels_per_pair": 10}, "labels_per_pair"),
        ({"baseline_kind": "run", "baseline_run": None}, "baseline_run"),
        ({"baseline_kind": "nope"}, "baseline_kind"),
        ({"thresholds": {"min_win_rate": 2}}, "thresholds"),
    ]
    for kw, field in bad:
        with pytest.raises(ApplicationError) as exc:
            _create(world, staff, **kw)
        assert field in exc.value.extra["fields"], kw
    generation.model_config_update(config=world["test"], data={"is_active": False})
    with pytest.raises(ApplicationError) as exc:
        _create(world, staff)
    assert "model_config" in exc.value.extra["fields"]
    assert not EvaluationRun.objects.exists()


def test_reference_baseline_needs_every_reference_run_baseline_needs_answers(world, staff, project):
    empty = make_set(project, 0, name="empty")
    with pytest.raises(ApplicationError, match="no prompts"):
        runs.evaluation_run_create(evaluation_set=empty, user=staff, model_config=world["test"], baseline_kind="config",
                                   baseline_config=world["base"])  # fmt: skip
    lacking = make_set(project, 4, references=False, name="bare", start=10)
    with pytest.raises(ApplicationError, match="4 prompt"):
        runs.evaluation_run_create(
            evaluation_set=lacking, user=staff, model_config=world["test"], baseline_kind="reference"
        )
    run = _create(world, staff, baseline_kind="reference", baseline_config=None)
    assert run.batches.count() == 1 and run.baseline_config is None
    assert EvaluationPair.objects.filter(run=run, baseline_candidate__source="reference").count() == 3
    with pytest.raises(ApplicationError, match="no answers"):
        _create(world, staff, baseline_kind="run", baseline_run=run)
    _run_jobs(run)
    runs.evaluation_run_advance(run_id=run.pk)
    again = _create(world, staff, baseline_kind="run", baseline_run=run)
    assert again.batches.count() == 0  # the test side is reused, the baseline is the previous run's answers
    assert set(EvaluationPair.objects.filter(run=again).values_list("baseline_candidate_id", flat=True)) == set(
        EvaluationPair.objects.filter(run=run).values_list("candidate_id", flat=True)
    )


def test_a_run_generates_is_labeled_and_finishes_with_a_frozen_report(world, staff, project):
    run = _create(world, staff)
    assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.GENERATING
    _run_jobs(run)
    assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.LABELING
    items = WorkItem.objects.filter(evaluation_pair__run=run)
    assert items.count() == 3
    for item in items:
        pair = item.evaluation_pair
        assert item.kind == "comparison" and item.purpose == "evaluation" and item.overlap == 2
        assert item.candidate_ids == [pair.candidate_id, pair.baseline_candidate_id]
        assert item.origin == {"evaluation_run": run.pk, "evaluation_set": world["set"].pk}
    progress = evaluation_run_progress(run=run)
    assert progress["pairs"] == 3 and progress["generated"] == 3 and progress["labels_needed"] == 6
    users = [labeler(project, f"l{i}", staff) for i in range(2)]
    test_wins = lambda item: item.candidate_ids[0]  # noqa: E731
    labels = label_all(project, users[:1], prefer=test_wins)
    assert len(labels) == 3 and runs.evaluation_run_advance(run_id=run.pk) == RunStatus.LABELING
    label_all(project, users[1:], prefer=test_wins)
    assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.FINISHED
    run.refresh_from_db()
    assert run.finished_at and run.report["overall"]["n_pairs"] == 3
    frozen = run.report
    # A late label (an item given one more slot after the finish) changes nothing.
    item = items.first()
    WorkItem.objects.filter(pk=item.pk).update(overlap=3)
    late = labeler(project, "late", staff)
    task = labeling.work_item_claim_next(project=project, user=late)
    labeling.ranking_submit(
        user=late, assignment_id=task.pk, payload=ranking(task.work_item, task.work_item.candidate_ids[1])
    )
    assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.FINISHED
    run.refresh_from_db()
    assert run.report == frozen
    with pytest.raises(Conflict):
        runs.evaluation_run_cancel(run=run, user=staff)
    with pytest.raises(Conflict):
        runs.evaluation_run_resume(run=run, user=staff)


def test_display_order_is_randomised_per_assignment_and_recorded(world, staff, project):
    world["set"] = make_set(project, 24, name="big", start=100)
    run = _create(world, staff, labels_per_pair=1)
    _run_jobs(run)
    runs.evaluation_run_advance(run_id=run.pk)
    label_all(project, [labeler(project, "l", staff)], prefer=lambda item: item.candidate_ids[0])
    firsts = set()
    for a in Assignment.objects.filter(work_item__evaluation_pair__run=run).select_related("work_item"):
        assert sorted(a.display_order) == sorted(a.work_item.candidate_ids)
        label = Label.objects.get(assignment=a)
        assert label.display_order == a.display_order
        firsts.add(a.display_order[0] == a.work_item.candidate_ids[0])
    assert firsts == {True, False}  # 24 items: both orders shown (chance of failing 2 in 2^24)


def test_a_failed_generation_is_reported_and_does_not_block(world, staff, project):
    run = _create(world, staff, labels_per_pair=1)
    jobs = list(GenerationJob.objects.filter(batch__in=run.batches.all(), model_config=world["test"]).order_by("id"))
    world["server"].mode = "400"
    generation.generation_job_run(job_id=jobs[0].pk, task_id=jobs[0].task_id)
    world["server"].mode = "ok"
    _run_jobs(run)
    assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.LABELING
    progress = evaluation_run_progress(run=run)
    assert progress["generation_failed"] == 1 and progress["items"] == 2 and progress["labels_needed"] == 2
    label_all(project, [labeler(project, "l", staff)], prefer=lambda item: item.candidate_ids[1])
    assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.FINISHED


def test_cancel_keeps_every_label_and_lease_resume_carries_on(world, staff, project):
    run = _create(world, staff)
    _run_jobs(run)
    runs.evaluation_run_advance(run_id=run.pk)
    a, b = labeler(project, "a", staff), labeler(project, "b", staff)
    label_all(project, [a], prefer=lambda item: item.candidate_ids[0])
    held = labeling.work_item_claim_next(project=project, user=b)  # a live lease across the cancel
    raised = WorkItem.objects.filter(evaluation_pair__run=run, taken=1).order_by("id").first()
    WorkItem.objects.filter(pk=raised.pk).update(overlap=3)  # quality control asked for a third label
    runs.evaluation_run_cancel(run=run, user=staff)
    items = WorkItem.objects.filter(evaluation_pair__run=run)
    assert sorted(items.values_list("overlap", flat=True)) == [1, 1, 2]
    assert labeling.work_item_claim_next(project=project, user=labeler(project, "c", staff)) is None
    labeling.ranking_submit(
        user=b, assignment_id=held.pk, payload=ranking(held.work_item, held.work_item.candidate_ids[0])
    )
    assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.CANCELLED
    with pytest.raises(Conflict):
        runs.evaluation_run_cancel(run=run, user=staff)
    assert Label.objects.filter(work_item__in=items).count() == 4
    runs.evaluation_run_resume(run=run, user=staff)
    assert dict(items.values_list("pk", "overlap")) == {i.pk: 3 if i.pk == raised.pk else 2 for i in items}
    assert all(set(i.origin) == {"evaluation_run", "evaluation_set"} for i in items)
    assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.LABELING
    label_all(project, [b, labeler(project, "d", staff)], prefer=lambda item: item.candidate_ids[0])
    assert Label.objects.filter(work_item__in=items).count() == 7
    assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.FINISHED


def _progress_queries(run):
    with CaptureQueriesContext(connection) as ctx:
        evaluation_run_progress(run=run)
    return len(ctx.captured_queries)


def test_progress_costs_the_same_whatever_the_size(world, staff, project):
    small = _create(world, staff)
    world["set"] = make_set(project, 12, name="big", start=100)
    big = _create(world, staff)
    assert _progress_queries(small) == _progress_queries(big) <= 4


def test_advancing_a_run_with_nothing_new_writes_nothing_in_constant_statements(world, staff, project):
    counts = []
    for n, name in ((3, "small"), (12, "big")):
        world["set"] = make_set(project, n, name=name, start=100 * n)
        run = _create(world, staff)
        with CaptureQueriesContext(connection) as ctx:
            assert runs.evaluation_run_advance(run_id=run.pk) == RunStatus.GENERATING
        assert not [q for q in ctx.captured_queries if q["sql"].startswith(("UPDATE", "INSERT", "DELETE"))]
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
