"""A prompt import, however big, never holds up labeling.

SQLite (`make run`) has one writer at a time: the import validates the whole file, then writes it a
batch per short transaction, and its prompts become work only once it is done; a run that dies is
resumed, one that fails deletes what it wrote. PostgreSQL keeps one transaction, and nothing there
waits on it (Django's foreign keys are checked at commit, so the import locks no project row)."""

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from labelhub.labeling.services import work_items_sync
from labelhub.projects import services as projects
from labelhub.prompts import services
from labelhub.prompts.models import Candidate, ImportStatus, ProjectTag, Prompt, PromptImport

ROOT = Path(__file__).resolve().parents[2]


def _body(n: int, bad_line: int | None = None) -> bytes:
    lines = [
        json.dumps({"prompt": f"Question {i}", "tags": [f"t{i % 3}"], "candidates": [{"content": f"A{i}"}]})
        for i in range(n)
    ]
    if bad_line is not None:
        lines[bad_line - 1] = "{not json"
    return ("\n".join(lines) + "\n").encode()


def _queued(project, user, body: bytes) -> PromptImport:
    path, size, lines = services.spool_upload(chunks=iter([body]), max_bytes=len(body))
    return services.prompt_import_create(
        project=project, user=user, path=path, filename="p.jsonl", file_format="jsonl", size=size, lines=lines
    )


@pytest.fixture
def chunked(monkeypatch):
    """The SQLite write path on the suite's PostgreSQL: small batches, no pause, queue sends ignored."""
    monkeypatch.setattr(services, "_write_in_one_transaction", services._write_in_chunks)
    monkeypatch.setattr(services, "SQLITE_BATCH", 10)
    monkeypatch.setattr(services, "SQLITE_PAUSE_SECONDS", 0)
    monkeypatch.setattr(services, "_queue_work_items_sync", lambda project_id: None)


class _Crash(BaseException):
    """A worker killed between two batches."""


@pytest.mark.django_db
def test_chunked_import_that_dies_is_resumed_and_its_prompts_wait_for_it(project, staff, chunked, monkeypatch):
    imp = _queued(project, staff, _body(35))
    reported = []

    def crash_after_two_batches(import_id, lines):
        reported.append(lines)
        if len(reported) == 2:
            raise _Crash

    monkeypatch.setattr(services, "_report_progress", crash_after_two_batches)
    with pytest.raises(_Crash):
        services.prompt_import_run(import_id=imp.pk)
    # Two batches are committed, but the import is not done: no work item comes from them.
    assert Prompt.objects.filter(source_import=imp).count() == 20
    assert PromptImport.objects.get(pk=imp.pk).status == ImportStatus.WRITING
    assert work_items_sync(project=project)["demonstration"] == 0
    # Its heartbeat stops; the next run takes it over and skips what the dead one wrote.
    monkeypatch.setattr(services, "_report_progress", lambda import_id, lines: None)
    PromptImport.objects.filter(pk=imp.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    done = services.prompt_import_run(import_id=imp.pk)
    assert done.status == ImportStatus.DONE, done.message
    assert (done.created_count, done.skipped_count, done.candidate_count) == (35, 0, 35)
    assert Prompt.objects.filter(project=project).count() == 35 and Candidate.objects.count() == 35
    assert set(ProjectTag.objects.filter(project=project).values_list("name", flat=True)) == {"t0", "t1", "t2"}
    assert work_items_sync(project=project)["demonstration"] == 35


@pytest.mark.django_db
def test_chunked_import_with_a_bad_last_line_writes_nothing(project, staff, chunked):
    imp = services.prompt_import_run(import_id=_queued(project, staff, _body(35, bad_line=35)).pk)
    assert imp.status == ImportStatus.FAILED and "nothing was imported" in imp.message
    assert imp.errors[0]["line"] == 35
    assert not Prompt.objects.exists()


@pytest.mark.django_db
def test_chunked_import_that_fails_mid_way_deletes_what_it_wrote(project, staff, chunked, monkeypatch):
    real_insert = services._insert_orm
    calls = []

    def fail_third_batch(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise IntegrityError("value too long for type character varying")  # not a unique violation
        return real_insert(**kwargs)

    monkeypatch.setattr(services, "_insert_orm", fail_third_batch)
    monkeypatch.setattr(services, "_insert_copy", fail_third_batch)
    imp = services.prompt_import_run(import_id=_queued(project, staff, _body(35)).pk)
    assert imp.status == ImportStatus.FAILED and "nothing was imported" in imp.message
    assert not Prompt.objects.exists() and not Candidate.objects.exists()
    assert work_items_sync(project=project)["demonstration"] == 0


@pytest.mark.slow
def test_sqlite_labeling_writes_go_through_while_a_big_import_runs(tmp_path):
    """The probe imports 20,000 prompts in a second process (as the worker would) into a fresh SQLite
    file while labeling through the API. Before: one transaction held the only write lock, and a
    token touch, claim or submit waited for the whole import (about 10 s here, or a 503 after 20 s)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(ROOT),
        "LABELHUB_ENV_FILE": "/nonexistent",
        "DEBUG": "true",
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",  # nothing listens: enqueues fail fast, and are not needed
        "LOG_LEVEL": "ERROR",
    }
    probe = ROOT / "tests" / "prompts" / "sqlite_labeling_probe.py"
    result = subprocess.run(
        [sys.executable, str(probe), str(tmp_path), "20000"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["status"] == "done" and figures["created"] == 20000, figures
    assert figures["bad_responses"] == [], figures
    assert figures["writes"] >= 20, figures  # labeling went on during the import
    assert figures["slowest_write_seconds"] < 2.0, figures


@pytest.mark.django_db(transaction=True)
def test_postgresql_import_transaction_does_not_block_project_writes(project, staff, monkeypatch):
    """While an import's transaction is open (mid-file), the writes that lock the project row FOR
    UPDATE (a guideline publish, a project update) go through: the foreign keys of the rows it
    inserted are deferred (checked at commit), so it holds no KEY SHARE lock on that row yet."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL locking")
    writing, release = threading.Event(), threading.Event()

    def hold(import_id, lines):  # the import has written a batch; its transaction stays open
        writing.set()
        release.wait(30)

    monkeypatch.setattr(services, "BATCH", 10)
    monkeypatch.setattr(services, "_report_progress", hold)
    imp = _queued(project, staff, _body(30))
    outcome = {}

    def run_import():
        try:
            outcome["import"] = services.prompt_import_run(import_id=imp.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=run_import)
    thread.start()
    try:
        assert writing.wait(30), "the import did not start writing"
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        version = projects.guideline_version_publish(project=project, user=staff, change_note="v2", content="# New")
        updated = projects.project_update(project=project, data={"description": "changed during an import"})
    finally:
        release.set()
        thread.join(60)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert version.number == 1 and updated.description == "changed during an import"
    assert outcome["import"].status == ImportStatus.DONE and outcome["import"].created_count == 30
