"""Running generation jobs against a fake OpenAI-compatible server: every fault ends in a retry
or a clean stored error, never a stuck job; a job runs once per slot."""

import pytest

from labelhub.generation import services
from labelhub.generation.models import GenerationJob, JobStatus
from labelhub.prompts.models import Candidate, Prompt


@pytest.fixture
def prompts(project):
    return [
        Prompt.objects.create(
            project=project,
            messages=[{"role": "user", "content": f"question {i}"}],
            text=f"question {i}",
            content_hash=f"{i:064d}",
        )
        for i in range(3)
    ]


def _batch(project, staff, config, prompts, django_capture_on_commit_callbacks, **kw):
    with django_capture_on_commit_callbacks(execute=True):
        return services.generation_batch_create(
            project=project, user=staff, config=config, prompt_ids=[p.pk for p in prompts], **kw
        )


def _run(job):
    job.refresh_from_db()
    return services.generation_job_run(job_id=job.pk, task_id=job.task_id)


@pytest.mark.django_db
def test_batch_creates_one_job_per_slot_and_dispatches_on_commit(
    project, staff, prompts, fake_server, make_config, sent, django_capture_on_commit_callbacks
):
    config = make_config(fake_server.base_url, candidates_per_prompt=2, max_tokens=100)
    batch = _batch(project, staff, config, prompts, django_capture_on_commit_callbacks)
    jobs = GenerationJob.objects.filter(batch=batch)
    assert jobs.count() == 6
    assert sorted(jobs.values_list("prompt_id", "sample_index")) == sorted((p.pk, i) for p in prompts for i in range(2))
    assert len(sent) == 6 and all("queue" not in c for c in sent)  # routed by CELERY_TASK_ROUTES
    assert {c["task_id"] for c in sent} == set(jobs.values_list("task_id", flat=True))
    assert (
        sent[0]["soft_time_limit"] == config.timeout_seconds + 30 and sent[0]["time_limit"] > sent[0]["soft_time_limit"]
    )
    assert not jobs.filter(dispatched_at__isnull=True).exists()
    # A second batch continues the sample indexes instead of colliding.
    batch2 = _batch(project, staff, config, prompts[:1], django_capture_on_commit_callbacks)
    assert sorted(GenerationJob.objects.filter(batch=batch2).values_list("sample_index", flat=True)) == [2, 3]


@pytest.mark.django_db
def test_fewer_than_counts_existing_and_pending(project, staff, prompts, fake_server, make_config, sent):
    config = make_config(fake_server.base_url)
    Candidate.objects.create(prompt=prompts[0], content="have one", source="imported")
    batch = services.generation_batch_create(project=project, user=staff, config=config, fewer_than=2)
    per_prompt = dict(
        GenerationJob.objects.filter(batch=batch)
        .values_list("prompt_id")
        .annotate(n=__import__("django").db.models.Count("id"))
    )
    assert per_prompt == {prompts[0].pk: 1, prompts[1].pk: 2, prompts[2].pk: 2}
    # Queued jobs count: asking again adds nothing.
    from labelhub.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="Nothing to generate"):
        services.generation_batch_create(project=project, user=staff, config=config, fewer_than=2)


@pytest.mark.django_db
def test_prompts_of_another_project_are_refused(project, make_project, staff, fake_server, make_config, sent):
    other = make_project("Other")
    foreign = Prompt.objects.create(
        project=other, messages=[{"role": "user", "content": "x"}], text="x", content_hash="f" * 64
    )
    config = make_config(fake_server.base_url)
    from labelhub.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as exc:
        services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[foreign.pk])
    assert exc.value.extra["unknown_prompt_ids"] == [foreign.pk]
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db
def test_successful_job_stores_candidate_with_provenance(
    project, staff, prompts, fake_server, make_config, sent, django_capture_on_commit_callbacks
):
    config = make_config(fake_server.base_url, temperature=0.3, seed=42, system_prompt="Be brief.", api_key="sk-secret")
    batch = _batch(project, staff, config, prompts[:1], django_capture_on_commit_callbacks)
    job = GenerationJob.objects.filter(batch=batch).first()
    assert _run(job).status == JobStatus.DONE
    cand = Candidate.objects.get(generation_job=job)
    assert cand.content == "Answer to: question 0"
    assert cand.source == "generated" and cand.model_name == "fake-model" and cand.finish_reason == "stop"
    assert (cand.prompt_tokens, cand.completion_tokens) == (7, 5) and cand.latency_ms is not None
    assert cand.model_config == config
    assert cand.provenance["sampling"]["temperature"] == 0.3 and cand.provenance["sampling"]["seed"] == 42
    request = fake_server.bodies[0]
    assert request["body"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert request["body"]["seed"] == 42 and request["auth"] == "Bearer sk-secret"
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 1


@pytest.mark.django_db
def test_a_job_delivered_twice_is_a_noop(
    project, staff, prompts, fake_server, make_config, sent, django_capture_on_commit_callbacks
):
    config = make_config(fake_server.base_url)
    job = GenerationJob.objects.filter(
        batch=_batch(project, staff, config, prompts[:1], django_capture_on_commit_callbacks)
    ).first()
    assert _run(job).status == JobStatus.DONE
    assert _run(job).status == "skipped"
    assert services.generation_job_run(job_id=job.pk, task_id="someone-else").status == "skipped"
    assert Candidate.objects.filter(prompt=prompts[0]).count() == 1
    assert fake_server.requests == 1


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["429", "500"])
def test_transient_errors_retry_with_backoff_then_fail(
    project, staff, prompts, fake_server, make_config, sent, settings, mode, django_capture_on_commit_callbacks
):
    settings.GENERATION_MAX_ATTEMPTS = 3
    fake_server.mode = mode
    config = make_config(fake_server.base_url)
    job = GenerationJob.objects.filter(
        batch=_batch(project, staff, config, prompts[:1], django_capture_on_commit_callbacks)
    ).first()
    first = _run(job)
    assert first.status == JobStatus.QUEUED and first.retry_in > 0
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and f"HTTP {mode}" in job.error
    assert _run(job).status == JobStatus.QUEUED
    last = _run(job)
    job.refresh_from_db()
    assert last.status == JobStatus.FAILED and job.status == JobStatus.FAILED
    assert "Gave up after 3 attempts" in job.error
    assert not Candidate.objects.exists()


def test_backoff_grows_with_jitter_and_honours_retry_after():
    delays = [services._backoff(a, None) for a in (1, 2, 3, 4)]
    assert 2.5 <= delays[0] <= 7.5 and 20 <= delays[3] <= 60
    assert services._backoff(1, 120) >= 120
    assert len({round(services._backoff(3, None), 3) for _ in range(20)}) > 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("400", "HTTP 400 (Bad Request)"),
        ("nonjson", "not JSON"),
        ("empty_choices", "no choices"),
        ("no_content", "no message content"),
        ("huge", "too large"),
        ("redirect", "Redirected"),
    ],
)
def test_permanent_errors_fail_cleanly(
    project, staff, prompts, fake_server, make_config, sent, mode, message, django_capture_on_commit_callbacks
):
    fake_server.mode = mode
    config = make_config(fake_server.base_url)
    job = GenerationJob.objects.filter(
        batch=_batch(project, staff, config, prompts[:1], django_capture_on_commit_callbacks)
    ).first()
    outcome = _run(job)
    job.refresh_from_db()
    assert outcome.status == JobStatus.FAILED and outcome.retry_in is None
    assert job.status == JobStatus.FAILED and message in job.error and len(job.error) < 2100
    assert not Candidate.objects.exists()
    # The retry button sends it again under a new task id.
    fake_server.mode = "ok"
    old_task = job.task_id
    with django_capture_on_commit_callbacks(execute=True):
        services.generation_job_retry(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.task_id != old_task
    assert services.generation_job_run(job_id=job.pk, task_id=old_task).status == "skipped"
    assert _run(job).status == JobStatus.DONE


@pytest.mark.django_db
def test_nul_and_lone_surrogates_are_stored_without_losing_the_rest(
    project, staff, prompts, fake_server, make_config, sent, django_capture_on_commit_callbacks
):
    fake_server.mode = "nul"
    config = make_config(fake_server.base_url)
    job = GenerationJob.objects.filter(
        batch=_batch(project, staff, config, prompts[:1], django_capture_on_commit_callbacks)
    ).first()
    assert _run(job).status == JobStatus.DONE
    cand = Candidate.objects.get(generation_job=job)
    assert cand.content == "before\u2400after \ufffd end"
    assert cand.provenance["sanitized"] == {"nul": 1, "surrogates": 1}
    import json

    assert json.loads(cand.raw_escaped) == "before\u0000after \ud800 end"


def test_hanging_server_times_out_as_transient(fake_server):
    from labelhub.integrations.inference.client import chat_completion
    from labelhub.integrations.inference.errors import TransientInferenceError
    from labelhub.integrations.inference.types import SamplingParams

    fake_server.mode = "hang"
    with pytest.raises(TransientInferenceError, match="Timed out"):
        chat_completion(
            base_url=fake_server.base_url, model="m", messages=[{"role": "user", "content": "hi"}],
            params=SamplingParams(), timeout_s=1,
        )  # fmt: skip


def test_connection_refused_is_transient(settings):
    import socket

    from labelhub.integrations.inference.client import chat_completion
    from labelhub.integrations.inference.errors import TransientInferenceError
    from labelhub.integrations.inference.types import SamplingParams

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.INFERENCE_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    with pytest.raises(TransientInferenceError, match="Connection refused"):
        chat_completion(
            base_url=f"http://127.0.0.1:{port}/v1", model="m", messages=[{"role": "user", "content": "hi"}],
            params=SamplingParams(), timeout_s=2,
        )  # fmt: skip


@pytest.mark.django_db
def test_reaper_resends_unsent_and_orphaned_jobs(project, staff, prompts, fake_server, make_config, sent, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    config = make_config(fake_server.base_url)
    # Broker down at commit: the jobs are recorded but unsent.
    from labelhub.generation import tasks

    def down(**kw):
        raise ConnectionRefusedError("redis down")

    monkeypatch.setattr(tasks.generate_candidate_task, "apply_async", down)
    batch = services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[prompts[0].pk])
    services.generation_feed(project_ids=[project.pk])
    assert GenerationJob.objects.filter(batch=batch, dispatched_at__isnull=True).count() == 2
    # Broker back: the reaper sends them (once they are older than a few seconds).
    monkeypatch.setattr(tasks.generate_candidate_task, "apply_async", lambda **kw: sent.append(kw))
    GenerationJob.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    assert services.generation_reap()["sent"] == 2
    assert not GenerationJob.objects.filter(dispatched_at__isnull=True).exists()
    # A worker died holding a job: its lease expires and the job is sent again with a new task id.
    job = GenerationJob.objects.filter(batch=batch).first()
    old_task = job.task_id
    GenerationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, lease_expires_at=timezone.now() - timedelta(seconds=1), attempts=1
    )
    result = services.generation_reap()
    job.refresh_from_db()
    assert result["orphaned"] == 1 and job.status == JobStatus.QUEUED and job.task_id != old_task
    assert services.generation_job_run(job_id=job.pk, task_id=old_task).status == "skipped"


@pytest.mark.django_db
def test_ssrf_guard_on_model_configs(project, settings):
    from labelhub.core.exceptions import ApplicationError

    settings.INFERENCE_ALLOWED_HOSTS = ["127.0.0.1:8080"]
    for url in (
        "http://169.254.169.254/v1",
        "http://10.0.0.5:8000/v1",
        "http://[::1]:8000/v1",
        "http://localhost:8000/v1",
        "file:///etc/passwd",
        "http://user:pw@example.com/v1",
        "gopher://127.0.0.1/",
        'http://example.com/v1/"><svg onload=alert(1)>',
        "http://example.com/v 1",
        "http://example.com\\@127.0.0.1/v1",
    ):
        with pytest.raises(ApplicationError):
            services.model_config_create(project=project, data={"name": url[:50], "base_url": url, "model": "m"})
    ok = services.model_config_create(
        project=project, data={"name": "ok", "base_url": "http://127.0.0.1:8080/v1/", "model": "m"}
    )
    assert ok.base_url == "http://127.0.0.1:8080/v1"


@pytest.mark.django_db
def test_reaper_resends_jobs_the_broker_lost(project, staff, prompts, fake_server, make_config, sent, monkeypatch):
    """Redis restarted with its queue wiped: queued jobs that were sent a while ago while the
    queue is empty get a new task id and are sent again; with messages still queued, nothing."""
    from datetime import timedelta

    from django.utils import timezone

    config = make_config(fake_server.base_url)
    services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[prompts[0].pk])
    services.generation_feed(project_ids=[project.pk])
    GenerationJob.objects.update(
        dispatched_at=timezone.now() - timedelta(minutes=5), created_at=timezone.now() - timedelta(minutes=6)
    )
    monkeypatch.setattr(services, "_inference_queue_length", lambda: 3)
    assert services.generation_reap()["lost"] == 0
    before = set(GenerationJob.objects.values_list("task_id", flat=True))
    monkeypatch.setattr(services, "_inference_queue_length", lambda: 0)
    sent.clear()
    result = services.generation_reap()
    assert result["lost"] == 2 and result["sent"] == 2
    after = set(GenerationJob.objects.values_list("task_id", flat=True))
    assert not before & after and {c["task_id"] for c in sent} == after
