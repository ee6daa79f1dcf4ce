"""Work isolation, fair share and honest job status.

- Each task goes to the queue of the pool sized for it (CELERY_TASK_ROUTES); connection checks do
  not share a queue with generation.
- The feeder sends each project at most GENERATION_MAX_IN_FLIGHT_PER_PROJECT jobs at a time,
  oldest first; a finishing job makes room for its project's next one.
- A job waiting to be tried again is shown as "retrying" with its attempts and last error; a batch
  whose jobs all wait says how many jobs start before its next one.
- With the workers docker-compose.yml runs (tests/processes.py reads it), a batch that saturates the
  model server delays neither a statistics refresh, nor an import, nor a connection check, and a
  second project's small batch finishes while a first project's big batch is still running."""

import json
import time

import pytest
from django.db.models import Q

from labelhub.celery import app
from labelhub.generation import services
from labelhub.generation.models import RETRYING, GenerationJob, JobStatus
from labelhub.generation.selectors import batch_progress
from labelhub.prompts.models import Candidate, Prompt

from ..processes import require_services, start_compose_workers, stop, wait_for
from .fake_openai import FakeOpenAI, allow_inference_server


def _prompts(project, n, tag=""):
    return Prompt.objects.bulk_create(
        Prompt(
            project=project,
            messages=[{"role": "user", "content": f"{tag} question {i}"}],
            text=f"{tag} question {i}",
            content_hash=f"{project.pk:08d}{tag:>8}{i:048d}",
        )
        for i in range(n)
    )


def _config(project, base_url, **data):
    return services.model_config_create(
        project=project, data={"name": data.pop("name", "fake"), "base_url": base_url, "model": "m", **data}
    )


def _batch(project, staff, config, prompts, capture):
    with capture(execute=True):
        return services.generation_batch_create(
            project=project, user=staff, config=config, prompt_ids=[p.pk for p in prompts]
        )


def test_each_task_is_routed_to_the_pool_sized_for_it():
    def queue(task):
        return app.amqp.router.route({}, task)["queue"].name

    assert queue("labelhub.generation.tasks.generate_candidate_task") == "inference"
    assert queue("labelhub.generation.tasks.model_config_check_task") == "fast"
    assert queue("labelhub.generation.tasks.generation_reaper_task") == "fast"
    assert queue("labelhub.quality.tasks.project_stats_task") == "default"
    assert queue("labelhub.prompts.tasks.prompt_import_task") == "imports"
    assert queue("labelhub.labeling.tasks.work_items_sync_task") == "default"
    assert queue("labelhub.exports.tasks.snapshot_build_task") == "exports"


@pytest.mark.django_db
def test_feeder_sends_each_project_its_share_oldest_first(
    project, make_project, staff, fake_server, sent, settings, django_capture_on_commit_callbacks
):
    settings.GENERATION_MAX_IN_FLIGHT_PER_PROJECT = 2
    big = _batch(
        project, staff, _config(project, fake_server.base_url), _prompts(project, 6), django_capture_on_commit_callbacks
    )
    big_ids = list(GenerationJob.objects.filter(batch=big).order_by("id").values_list("task_id", flat=True))
    assert len(big_ids) == 12
    assert [c["task_id"] for c in sent] == big_ids[:2]  # not the whole batch in front of everyone
    other = make_project("Beta")
    small = _batch(
        other, staff, _config(other, fake_server.base_url), _prompts(other, 1, "b"), django_capture_on_commit_callbacks
    )
    small_ids = list(GenerationJob.objects.filter(batch=small).order_by("id").values_list("task_id", flat=True))
    assert [c["task_id"] for c in sent[2:]] == small_ids  # right behind the big batch's two
    assert services.generation_reap()["sent"] == 0  # every project is at its share
    # A job of the big batch finishes: its project gets the next one, and only that.
    job = GenerationJob.objects.get(task_id=big_ids[0])
    assert services.generation_job_run(job_id=job.pk, task_id=job.task_id).status == JobStatus.DONE
    assert services.generation_feed_after_job(job_id=job.pk) == 1
    assert sent[-1]["task_id"] == big_ids[2] and len(sent) == 5
    assert GenerationJob.objects.filter(batch=big, dispatched_at__isnull=True).count() == 9


@pytest.mark.django_db
def test_feeders_of_one_project_take_turns(project, staff, fake_server, sent, settings):
    """Two feeders of one project (a job finishing while the reaper runs) cannot both fill its
    share: the project's row is locked while its jobs are reserved (FOR NO KEY UPDATE, which
    does not block the inserts that reference the project)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    config = _config(project, fake_server.base_url)
    prompt_ids = [_prompts(project, 1)[0].pk]
    services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=prompt_ids)
    with CaptureQueriesContext(connection) as queries:
        assert services.generation_feed(project_ids=[project.pk]) == 2
    if connection.vendor == "postgresql":
        (lock,) = [q["sql"] for q in queries if "FOR NO KEY UPDATE" in q["sql"]]
        assert f'"{project._meta.db_table}"' in lock.split("FROM")[1].split("WHERE")[0]
    assert len(queries) <= 7  # lock, in flight, pick, mark (+ savepoint/transaction statements)


@pytest.mark.django_db
def test_feeder_leaves_jobs_unsent_when_the_broker_is_down(project, staff, fake_server, monkeypatch, settings):
    from labelhub.generation import tasks

    calls = []

    def flaky(**kw):
        if len(calls) == 1:
            raise ConnectionRefusedError("redis down")
        calls.append(kw)

    monkeypatch.setattr(tasks.generate_candidate_task, "apply_async", flaky)
    services.generation_batch_create(
        project=project,
        user=staff,
        config=_config(project, fake_server.base_url),
        prompt_ids=[p.pk for p in _prompts(project, 2)],
    )
    assert services.generation_feed(project_ids=[project.pk]) == 1
    assert GenerationJob.objects.filter(dispatched_at__isnull=True).count() == 3  # the reaper sends them later


@pytest.mark.django_db
def test_a_job_being_retried_shows_as_retrying_with_attempts_and_last_error(
    project, staff, fake_server, sent, api, client, django_capture_on_commit_callbacks
):
    config = _config(project, fake_server.base_url, candidates_per_prompt=1)
    batch = _batch(project, staff, config, _prompts(project, 2), django_capture_on_commit_callbacks)
    fake_server.mode = "500"
    job = GenerationJob.objects.filter(batch=batch).order_by("id").first()
    outcome = services.generation_job_run(job_id=job.pk, task_id=job.task_id)
    assert outcome.retry_in is not None
    progress = batch_progress(batch=batch)
    assert (progress.queued, progress.retrying, progress.running, progress.failed) == (1, 1, 0, 0)
    assert not progress.finished
    body = api(staff).get(f"/api/v1/generation-batches/{batch.pk}").json()
    assert body["counts"]["retrying"] == 1 and body["counts"]["queued"] == 1
    (retrying,) = body["retrying"]
    assert retrying["job_id"] == job.pk and retrying["attempts"] == 1 and "500" in retrying["last_error"]
    jobs = api(staff).get(f"/api/v1/generation-batches/{batch.pk}/jobs?status=retrying").json()["results"]
    assert [(j["id"], j["status"], j["attempts"]) for j in jobs] == [(job.pk, RETRYING, 1)]
    assert api(staff).get(f"/api/v1/generation-batches/{batch.pk}/jobs?status=nope").status_code == 400
    client.force_login(staff)
    page = client.get(f"/projects/{project.pk}/generation/batches/{batch.pk}/").content.decode()
    assert "<dt>Retrying</dt><dd>1</dd>" in page and "retrying-table" in page and "Attempt 1 failed" in page


@pytest.mark.django_db
def test_a_waiting_batch_says_how_many_jobs_start_before_it(
    project, make_project, staff, fake_server, sent, settings, api, client, django_capture_on_commit_callbacks
):
    settings.GENERATION_MAX_IN_FLIGHT_PER_PROJECT = 2
    config = _config(project, fake_server.base_url, candidates_per_prompt=1)
    first = _batch(project, staff, config, _prompts(project, 5), django_capture_on_commit_callbacks)
    second = _batch(project, staff, config, _prompts(project, 2, "2nd"), django_capture_on_commit_callbacks)
    other = make_project("Beta")
    third = _batch(
        other, staff, _config(other, fake_server.base_url), _prompts(other, 1, "b"), django_capture_on_commit_callbacks
    )
    # first: 2 sent, 3 waiting; third (another project): 2 sent. second waits behind 3 + 4.
    assert batch_progress(batch=second).waiting_behind == 7
    assert batch_progress(batch=first).waiting_behind is None  # it has jobs with the workers
    assert batch_progress(batch=third).waiting_behind is None
    assert api(staff).get(f"/api/v1/generation-batches/{second.pk}").json()["waiting_behind"] == 7
    client.force_login(staff)
    page = client.get(f"/projects/{project.pk}/generation/batches/{second.pk}/").content.decode()
    assert "Waiting behind 7 jobs" in page


# --- with the real workers docker-compose.yml runs -----------------------------------------------


@pytest.fixture
def compose_workers(tmp_path, settings):
    require_services()
    procs = start_compose_workers(tmp_path, env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)})
    yield procs
    for proc in procs.values():
        stop(proc)


def _inference(procs):
    return procs.get("worker-inference") or next(iter(procs.values()))


@pytest.fixture
def hanging_server(settings, monkeypatch):
    server = FakeOpenAI().start()
    allow_inference_server(settings, monkeypatch, server.host_port)  # before the workers start: they inherit it
    server.mode = "hang"  # every completion waits (up to 2 minutes) until the test releases it
    yield server
    server.stop()


def _log(procs):
    return "\n".join(p.log.read_text()[-1500:] for p in procs.values())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_batch_saturating_the_model_delays_no_statistics_import_or_check(
    project, make_project, staff, settings, hanging_server, fake_server, compose_workers
):
    """Bounds: statistics refresh < 10 s, a 500-prompt import labelable (work items synced) < 20 s, a
    connection check < 5 s, while every inference thread waits on a model that does not answer."""
    from labelhub.generation.models import CheckStatus, ModelConfig
    from labelhub.labeling.models import WorkItem
    from labelhub.prompts import services as prompt_services
    from labelhub.prompts.models import ImportStatus, PromptImport
    from labelhub.quality import services as quality_services
    from labelhub.quality.models import ProjectStats

    slow = _config(project, hanging_server.base_url, candidates_per_prompt=2)
    batch = services.generation_batch_create(
        project=project, user=staff, config=slow, prompt_ids=[p.pk for p in _prompts(project, 20)]
    )
    wait_for(lambda: hanging_server.requests >= 2, what="the batch to start", proc=_inference(compose_workers))
    time.sleep(1)  # every inference thread takes a job that hangs
    start = time.monotonic()
    assert quality_services.project_stats_request(project_id=project.pk) == quality_services.STATS_SENT
    wait_for(lambda: ProjectStats.objects.filter(project=project).exists(), timeout=30, what="statistics")
    stats_s = time.monotonic() - start

    settings.PROMPT_IMPORT_SYNC_MAX_LINES = 0  # in the background, on the `imports` queue
    body = b"".join(json.dumps({"prompt": f"Imported {i}"}).encode() + b"\n" for i in range(500))
    start = time.monotonic()
    imp = prompt_services.prompt_import_start(project=project, user=staff, chunks=iter([body]), filename="p.jsonl")
    wait_for(lambda: PromptImport.objects.get(pk=imp.pk).status == ImportStatus.DONE, timeout=40, what="the import")
    import_s = time.monotonic() - start
    assert project.demonstrations_enabled
    imported = WorkItem.objects.filter(project=project, prompt__text__startswith="Imported")
    wait_for(lambda: imported.count() == 500, timeout=40, what="the imported prompts to be labelable")
    labelable_s = time.monotonic() - start

    answering = _config(project, fake_server.base_url, name="answering")
    start = time.monotonic()
    services.model_config_check_start(config=answering)
    wait_for(lambda: ModelConfig.objects.get(pk=answering.pk).last_check_status != CheckStatus.RUNNING, timeout=30)
    check_s = time.monotonic() - start

    figures = f"statistics {stats_s:.1f} s, import {import_s:.1f} s, labelable {labelable_s:.1f} s"
    figures += f", check {check_s:.1f} s"
    print(figures)  # pytest -s
    assert GenerationJob.objects.filter(batch=batch, status=JobStatus.DONE).count() == 0  # still saturated
    assert ModelConfig.objects.get(pk=answering.pk).last_check_status == CheckStatus.OK
    assert stats_s < 10 and labelable_s < 20 and check_s < 5, f"{figures}\n{_log(compose_workers)}"
    hanging_server.release.set()  # the hanging requests fail; workers stop promptly


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_small_batch_of_another_project_finishes_while_a_big_one_runs(
    project, make_project, staff, fake_server, compose_workers
):
    """Project A asks for 200 samples (1 s each), then project B for 2: B's are done within 8 s,
    while most of A's are still waiting."""
    fake_server.delay = 1.0
    big = services.generation_batch_create(
        project=project,
        user=staff,
        config=_config(project, fake_server.base_url, candidates_per_prompt=2),
        prompt_ids=[p.pk for p in _prompts(project, 100)],
    )
    wait_for(lambda: fake_server.requests >= 4, what="the big batch to start", proc=_inference(compose_workers))
    other = make_project("Beta")
    start = time.monotonic()
    small = services.generation_batch_create(
        project=other,
        user=staff,
        config=_config(other, fake_server.base_url, candidates_per_prompt=1),
        prompt_ids=[p.pk for p in _prompts(other, 2, "b")],
    )
    wait_for(
        lambda: not GenerationJob.objects.filter(batch=small).exclude(status=JobStatus.DONE).exists(),
        timeout=120,
        what="the small batch",
        proc=_inference(compose_workers),
    )
    small_s = time.monotonic() - start
    big_left = GenerationJob.objects.filter(Q(batch=big), ~Q(status=JobStatus.DONE)).count()
    print(f"small batch {small_s:.1f} s, big batch left {big_left} of 200")  # pytest -s
    assert Candidate.objects.filter(generation_job__batch=small).count() == 2
    assert small_s < 8 and big_left > 100, f"small batch {small_s:.1f} s, big batch left {big_left}"
