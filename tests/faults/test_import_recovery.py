"""No prompt import stays "queued" or "writing" forever: a dead run is taken over, a lost message is
re-sent, and a live run is never joined by a second one."""

import json
import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from labelhub.prompts import services, tasks
from labelhub.prompts.models import ImportStatus, Prompt, PromptImport

from ..processes import require_services, start_worker, stop, wait_for


def _start(project, user, n, settings):
    settings.PROMPT_IMPORT_SYNC_MAX_LINES = 0  # always in the background
    body = b"".join(json.dumps({"prompt": f"Question {i}: " + "x" * 100}).encode() + b"\n" for i in range(n))
    return services.prompt_import_start(project=project, user=user, chunks=iter([body]), filename="p.jsonl")


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.prompt_import_task, "apply_async", lambda **kw: calls.append(kw["kwargs"]["import_id"]))
    return calls


def _age(imp, status, seconds):
    PromptImport.objects.filter(pk=imp.pk).update(status=status, updated_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.django_db
def test_a_run_that_died_is_taken_over_and_a_live_one_is_left_alone(project, staff, settings, sent, monkeypatch):
    monkeypatch.setattr(services, "broker_queue_length", lambda queue: 5)
    imp = _start(project, staff, 30, settings)
    # Another run is writing it (heartbeat 10 s ago): a redelivered message does nothing.
    _age(imp, ImportStatus.WRITING, 10)
    assert services.prompt_import_run(import_id=imp.pk).status == ImportStatus.WRITING
    assert services.prompt_imports_reap() == {"requeued": 0, "lost": 0, "sent": 0}
    assert Prompt.objects.count() == 0
    # Its heartbeat stopped three minutes ago: the worker died. The reaper queues it again and sends it.
    _age(imp, ImportStatus.WRITING, 180)
    assert services.prompt_imports_reap() == {"requeued": 1, "lost": 0, "sent": 1}
    imp.refresh_from_db()
    assert imp.status == ImportStatus.QUEUED and "interrupted" in imp.message and sent == [imp.pk]
    done = services.prompt_import_run(import_id=imp.pk)
    assert done.status == ImportStatus.DONE and done.created_count == 30
    assert Prompt.objects.count() == 30
    assert services.prompt_import_run(import_id=imp.pk).status == ImportStatus.DONE  # redelivered: nothing
    assert Prompt.objects.count() == 30


@pytest.mark.django_db
def test_a_lost_message_is_sent_again_when_the_queue_is_empty(project, staff, settings, sent, monkeypatch):
    imp = _start(project, staff, 10, settings)
    sent.clear()
    _age(imp, ImportStatus.QUEUED, 120)
    monkeypatch.setattr(services, "broker_queue_length", lambda queue: 3)  # still waiting behind others
    assert services.prompt_imports_reap()["sent"] == 0
    monkeypatch.setattr(services, "broker_queue_length", lambda queue: None)  # broker down: cannot tell
    assert services.prompt_imports_reap()["sent"] == 0
    monkeypatch.setattr(services, "broker_queue_length", lambda queue: 0)  # Redis lost it
    assert services.prompt_imports_reap() == {"requeued": 0, "lost": 1, "sent": 1}
    assert sent == [imp.pk]
    assert services.prompt_imports_reap()["sent"] == 0  # not again at once: it was just sent


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_whole_worker_killed_mid_import(project, staff, settings, tmp_path, monkeypatch):
    """A real worker is SIGKILLed while it writes a big import (its transaction is lost with it); the
    reaper hands the import to the next worker, which imports every prompt exactly once."""
    require_services()
    media = {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    worker = start_worker(tmp_path, "imports", env=media)
    try:
        imp = _start(project, staff, 60_000, settings)
        wait_for(
            lambda: PromptImport.objects.get(pk=imp.pk).status == ImportStatus.WRITING,
            what="the import to start",
            proc=worker,
        )
        time.sleep(1.5)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        assert PromptImport.objects.get(pk=imp.pk).status == ImportStatus.WRITING
        assert Prompt.objects.filter(project=project).count() == 0  # one transaction: nothing half-written
        (tmp_path / "second").mkdir()
        worker = start_worker(tmp_path / "second", "imports", env=media)
        # What beat's reaper does two minutes after the heartbeat stopped:
        monkeypatch.setattr(services, "IMPORT_STALE_AFTER", timedelta(0))
        assert services.prompt_imports_reap()["requeued"] == 1
        wait_for(
            lambda: PromptImport.objects.get(pk=imp.pk).status == ImportStatus.DONE,
            timeout=180,
            what="the import to be taken over",
            proc=worker,
        )
    finally:
        stop(worker)
    imp.refresh_from_db()
    assert imp.created_count == 60_000
    assert Prompt.objects.filter(project=project).count() == 60_000
