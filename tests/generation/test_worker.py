"""With a real Celery worker (and Redis): generation end to end, a worker child killed mid-job,
the broker down at enqueue, and the embedded model producing real candidates."""

import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from labelhub.celery import app
from labelhub.generation import services
from labelhub.generation.models import CheckStatus, GenerationJob, JobStatus
from labelhub.prompts.models import Candidate, Prompt

from ..processes import ROOT, require_services, start_beat, start_worker, stop, wait_for
from .fake_openai import allow_inference_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    require_services()
    proc = start_worker(tmp_path, "inference,default,fast")
    yield proc
    stop(proc)


def _wait(predicate, timeout=60, what="condition", worker=None):
    wait_for(predicate, timeout=timeout, what=what, proc=worker)


def _prompts(project, n):
    return [
        Prompt.objects.create(
            project=project,
            messages=[{"role": "user", "content": text}],
            text=text,
            content_hash=f"{i:064d}",
        )
        for i, text in enumerate(["Name a fruit that is yellow.", "What is the capital of France?", "Say hello."][:n])
    ]


def _done(batch):
    return not GenerationJob.objects.filter(batch=batch, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()


def test_worker_generates_candidates(project, staff, fake_server, make_config, worker):
    config = make_config(fake_server.base_url, candidates_per_prompt=2)
    prompts = _prompts(project, 2)
    batch = services.generation_batch_create(
        project=project, user=staff, config=config, prompt_ids=[p.pk for p in prompts]
    )
    _wait(lambda: _done(batch), what="the batch", worker=worker)
    assert GenerationJob.objects.filter(batch=batch, status=JobStatus.DONE).count() == 4
    assert Candidate.objects.filter(generation_job__batch=batch).count() == 4


def test_sigkill_of_the_worker_child_runs_the_job_again_once(project, staff, fake_server, make_config, worker):
    fake_server.delay = 4.0
    config = make_config(fake_server.base_url, candidates_per_prompt=1)
    (prompt,) = _prompts(project, 1)
    batch = services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[prompt.pk])
    _wait(lambda: fake_server.requests >= 1, what="the first request", worker=worker)
    children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
    assert children, "no pool child found"
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)
    fake_server.delay = 0.5
    _wait(lambda: _done(batch), timeout=90, what="the re-run", worker=worker)
    job = GenerationJob.objects.get(batch=batch)
    assert job.status == JobStatus.DONE
    assert job.attempts == 2, worker.log.read_text()[-2000:]
    assert Candidate.objects.filter(prompt=prompt).count() == 1
    assert fake_server.requests == 2


def test_sigkill_of_the_whole_worker_is_recovered_within_two_minutes(
    project, staff, fake_server, make_config, worker, tmp_path
):
    """The worker and its pool die at once (OOM killer, host lost): nothing acks or requeues the
    message. The job's lease stops being renewed; beat's reaper hands the job to a new task and
    the worker that takes over runs it. Production settings: 45 s lease, reaper every 30 s."""
    fake_server.delay = 600.0  # the model is slow: only the lease, not the request timeout, can tell
    config = make_config(fake_server.base_url, candidates_per_prompt=1)
    (prompt,) = _prompts(project, 1)
    batch = services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[prompt.pk])
    _wait(lambda: fake_server.requests >= 1, what="the first request", worker=worker)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    killed_at = time.monotonic()
    fake_server.delay = 0.2
    (tmp_path / "second").mkdir()
    second = start_worker(tmp_path / "second", "inference,default,fast")
    beat = start_beat(tmp_path)
    try:
        _wait(lambda: _done(batch), timeout=150, what="the reaper and the second worker", worker=second)
        recovered_in = time.monotonic() - killed_at
    finally:
        stop(beat)
        stop(second)
    assert recovered_in < 120, f"recovered in {recovered_in:.0f} s"
    job = GenerationJob.objects.get(batch=batch)
    assert job.status == JobStatus.DONE and job.attempts == 2
    assert Candidate.objects.filter(prompt=prompt).count() == 1
    assert fake_server.requests == 2


def test_redis_restarted_empty_jobs_are_sent_again_from_postgres(project, staff, fake_server, make_config, tmp_path):
    """Redis loses everything (restarted without persistence) while jobs wait in its queue: the
    reaper finds them in PostgreSQL (sent a while ago, queue empty) and sends them again once."""
    require_services()
    from labelhub.core.broker import broker_queue_length

    config = make_config(fake_server.base_url, candidates_per_prompt=1)
    prompts = _prompts(project, 2)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("inference")
    batch = services.generation_batch_create(
        project=project, user=staff, config=config, prompt_ids=[p.pk for p in prompts]
    )
    assert broker_queue_length("inference") == 2  # sent after commit, no worker yet
    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()  # messages, bindings, everything
    assert broker_queue_length("inference") == 0
    worker = start_worker(tmp_path, "inference,default,fast")
    try:
        # As if the jobs had been sent minutes ago (the reaper waits LOST_AFTER).
        saved, services.LOST_AFTER = services.LOST_AFTER, __import__("datetime").timedelta(seconds=0)
        try:
            assert services.generation_reap() == {"orphaned": 0, "lost": 2, "sent": 2, "checks_failed": 0}
        finally:
            services.LOST_AFTER = saved
        _wait(lambda: _done(batch), what="the re-sent jobs", worker=worker)
    finally:
        stop(worker)
    assert Candidate.objects.filter(generation_job__batch=batch).count() == 2
    assert set(GenerationJob.objects.filter(batch=batch).values_list("attempts", flat=True)) == {1}
    assert fake_server.requests == 2


def test_broker_down_at_enqueue_then_back(project, staff, fake_server, make_config, worker, monkeypatch):
    """The batch is accepted and recorded while Redis is unreachable; the reaper sends the jobs
    once it is back, and the worker runs them."""
    config = make_config(fake_server.base_url, candidates_per_prompt=1)
    prompts = _prompts(project, 2)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    real_connection_for_write = app.connection_for_write

    def reset_pools():
        app._pool = None
        app.amqp._producer_pool = None

    monkeypatch.setattr(
        app,
        "connection_for_write",
        lambda url=None, **kw: real_connection_for_write(f"redis://127.0.0.1:{dead_port}/0", **kw),
    )
    reset_pools()
    try:
        batch = services.generation_batch_create(
            project=project, user=staff, config=config, prompt_ids=[p.pk for p in prompts]
        )
        assert GenerationJob.objects.filter(batch=batch, dispatched_at__isnull=True).count() == 2
    finally:
        monkeypatch.setattr(app, "connection_for_write", real_connection_for_write)
        reset_pools()
    time.sleep(1.5)
    assert fake_server.requests == 0
    assert services.generation_reap()["sent"] == 2
    _wait(lambda: _done(batch), what="the jobs after the broker came back", worker=worker)
    assert Candidate.objects.filter(generation_job__batch=batch).count() == 2


@pytest.fixture(scope="session")
def embedded_model():
    """llama.cpp's server with SmolLM2-135M-Instruct (built once per machine by scripts/embedded-model.sh)."""
    cache = Path(os.environ.get("LABELHUB_CACHE", Path.home() / ".cache" / "labelhub"))
    if not list(cache.glob("llama-server-*/llama-server")) and not os.environ.get("LABELHUB_REQUIRE_MODEL"):
        pytest.skip("the embedded model server is not built (make test builds it)")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "embedded-model.sh"), "serve", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    import httpx

    deadline = time.time() + 1200
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            pytest.fail("the embedded model server did not start")
        time.sleep(0.5)
    yield f"http://127.0.0.1:{port}/v1"
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


@pytest.fixture
def embedded_allowed(embedded_model, settings, monkeypatch):
    """The embedded server's URL, its exact host:port allowed here and in the worker started after."""
    allow_inference_server(settings, monkeypatch, urlsplit(embedded_model).netloc)
    return embedded_model


def test_embedded_model_end_to_end(project, staff, make_config, embedded_allowed, worker):
    config = make_config(embedded_allowed, name="SmolLM2", candidates_per_prompt=2, max_tokens=24, temperature=0.8)
    services.model_config_check_start(config=config)
    # on_commit ran (transactional test): the worker runs the 1-token completion.
    _wait(lambda: config.__class__.objects.get(pk=config.pk).last_check_status != CheckStatus.RUNNING, worker=worker)
    config.refresh_from_db()
    assert config.last_check_status == CheckStatus.OK, config.last_check_error
    assert config.last_check_model and config.last_check_latency_ms is not None
    prompts = _prompts(project, 2)
    batch = services.generation_batch_create(
        project=project, user=staff, config=config, prompt_ids=[p.pk for p in prompts]
    )
    _wait(lambda: _done(batch), timeout=180, what="real generation", worker=worker)
    candidates = list(Candidate.objects.filter(generation_job__batch=batch))
    assert len(candidates) == 4
    for cand in candidates:
        assert cand.content.strip()
        assert cand.finish_reason in ("stop", "length")
        assert cand.model_name == "smollm2-135m-instruct"
        assert cand.completion_tokens and cand.completion_tokens <= 24
        assert cand.provenance["sampling"]["max_tokens"] == 24
    # One candidate per (prompt, config, index), and a second delivery of a job adds nothing.
    job = GenerationJob.objects.filter(batch=batch).first()
    assert services.generation_job_run(job_id=job.pk, task_id=job.task_id).status == "skipped"
    assert Candidate.objects.filter(generation_job__batch=batch).count() == 4
    assert not GenerationJob.objects.filter(batch=batch).exclude(status=JobStatus.DONE).exists()
    assert set(GenerationJob.objects.filter(batch=batch).values_list("attempts", flat=True)) == {1}
