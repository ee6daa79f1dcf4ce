"""The hooks that advance a run: generation's job_finished, labeling's comparison_item_completed
(no query, nothing sent for a training item), and the beat's sweep of the runs not finished."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labelhub.evaluation import hooks, tasks
from labelhub.evaluation.models import RunStatus
from labelhub.evaluation.services import runs
from labelhub.generation.models import GenerationJob
from labelhub.generation.signals import job_finished
from labelhub.labeling.models import Label
from labelhub.labeling.signals import comparison_item_completed

from .runs_world import make_config, make_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def advanced(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.evaluation_run_advance_task, "apply_async", lambda **kw: calls.append(kw["kwargs"]))
    return calls


@pytest.fixture
def run(project, staff, fake_server, sent):
    s = make_set(project, 2)
    config = make_config(project, fake_server.base_url, "test")
    return runs.evaluation_run_create(evaluation_set=s, user=staff, model_config=config, baseline_kind="reference")


def test_a_finished_job_advances_the_runs_waiting_on_it(run, advanced):
    job = GenerationJob.objects.filter(batch__in=run.batches.all()).first()
    job_finished.send_robust(sender=GenerationJob, job_id=job.pk)
    assert advanced == [{"run_id": run.pk}]
    runs.evaluation_run_cancel(run=run, user=run.created_by)
    job_finished.send_robust(sender=GenerationJob, job_id=job.pk)  # a cancelled run waits for its resume
    assert len(advanced) == 1


def test_a_completed_evaluation_item_advances_its_run_after_commit(advanced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as ctx:
        hooks.advance_on_item_completed(sender=Label, work_item_id=1, origin={})  # a training item
        hooks.advance_on_item_completed(sender=Label, work_item_id=2, origin={"evaluation_run": 7})
    assert advanced == [{"run_id": 7}]
    assert ctx.captured_queries == []
    assert hooks.advance_on_item_completed in [entry[1]() for entry in comparison_item_completed.receivers]


def test_the_beat_advances_every_run_not_finished(run, fake_server, advanced):
    from labelhub.generation import services as generation

    for job in GenerationJob.objects.filter(batch__in=run.batches.all()):
        generation.generation_job_run(job_id=job.pk, task_id=job.task_id)
    assert tasks.evaluation_runs_advance_task() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.LABELING
