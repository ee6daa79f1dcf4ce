"""An evaluation run end to end with a real Celery worker: the answers are generated through the
generation queue (two configs of the fake server answering differently), the generation hook moves
the run to labeling, labelers label the pairs, the labeling hook finishes it with a frozen report.
No beat: the hooks alone carry the run."""

import pytest

from labelhub.evaluation.models import EvaluationPair, EvaluationRun, RunStatus
from labelhub.evaluation.services import runs
from labelhub.labeling.models import WorkItem
from labelhub.prompts.models import Candidate

from ..processes import require_services, start_worker, stop, wait_for
from .runs_world import label_all, labeler, make_config, make_set

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    require_services()
    proc = start_worker(tmp_path, "inference,default,fast")
    yield proc
    stop(proc)


def _status(run):
    return EvaluationRun.objects.get(pk=run.pk).status


def test_a_run_generates_gets_labeled_and_finishes(project, staff, fake_server, worker):
    fake_server.reply = lambda body: "Paris." if body["model"] == "new" else "Well, " + "let me think. " * 30 + "Paris."
    s = make_set(project, 3)
    new, old = make_config(project, fake_server.base_url, "new"), make_config(project, fake_server.base_url, "old")
    run = runs.evaluation_run_create(
        evaluation_set=s, user=staff, model_config=new, baseline_kind="config", baseline_config=old, labels_per_pair=2
    )
    wait_for(lambda: _status(run) == RunStatus.LABELING, timeout=90, what="the answers", proc=worker)
    pairs = list(EvaluationPair.objects.filter(run=run).select_related("candidate", "baseline_candidate"))
    assert all(p.candidate.content == "Paris." and p.baseline_candidate.content.startswith("Well") for p in pairs)
    assert fake_server.requests == 6
    users = [labeler(project, f"labeler-{i}", staff) for i in range(2)]
    label_all(project, users, prefer=lambda item: item.candidate_ids[0])  # the shorter answer wins
    wait_for(lambda: _status(run) == RunStatus.FINISHED, timeout=60, what="the finish", proc=worker)
    run.refresh_from_db()
    assert run.finished_at is not None
    assert run.report["overall"]["n_pairs"] == 3
    assert set(WorkItem.objects.filter(evaluation_pair__run=run).values_list("label_count", flat=True)) == {2}
    # A second run of the same configs reuses every answer: nothing new is asked of the model.
    again = runs.evaluation_run_create(
        evaluation_set=s, user=staff, model_config=new, baseline_kind="config", baseline_config=old
    )
    wait_for(lambda: _status(again) == RunStatus.LABELING, timeout=30, what="the reused run", proc=worker)
    assert again.batches.count() == 0 and fake_server.requests == 6
    assert Candidate.objects.filter(source="generated").count() == 6


def test_runs_started_at_once_get_distinct_numbers(project, staff, fake_server, sent):
    """Numbers are max + 1 per set under the set's row lock: two starts at the same moment get 1 and 2."""
    import threading

    from django.db import connection

    s = make_set(project, 2)
    config = make_config(project, fake_server.base_url, "test")
    barrier, errors = threading.Barrier(2), []

    def start():
        try:
            barrier.wait()
            runs.evaluation_run_create(evaluation_set=s, user=staff, model_config=config, baseline_kind="reference")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(EvaluationRun.objects.filter(evaluation_set=s).values_list("number", flat=True)) == [1, 2]
