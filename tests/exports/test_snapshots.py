import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

import labelhub
from labelhub.exports import services, tasks
from labelhub.exports.models import ExportSnapshot, SnapshotStatus

from ..processes import require_services, start_worker, stop, wait_for
from . import builders as b


@pytest.fixture
def sent_snapshots(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.snapshot_build_task, "apply_async", lambda **kw: calls.append(kw))
    return calls


def _create(client, project, body, capture):
    with capture(execute=True):
        return client.post(f"/api/v1/projects/{project.pk}/snapshots", body, format="json")


def _stream(client, project, kind, query):
    response = client.get(f"/api/v1/projects/{project.pk}/exports/{kind}.jsonl?{query}")
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_snapshot_lifecycle(golden, api, sent_snapshots, django_capture_on_commit_callbacks):
    client = api(golden.users["eve"])
    project = golden.project
    body = {
        "kind": "preferences",
        "format": "trl-preference",
        "pairs": "adjacent",
        "track": ["helpful"],
        "metadata": True,
    }
    response = _create(client, project, body, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["status"] == "queued" and data["download_url"] is None
    assert data["params"] == {"format": "trl-preference", "track": "helpful", "metadata": "true", "pairs": "adjacent"}
    snap = ExportSnapshot.objects.get(pk=data["id"])
    assert sent_snapshots == [
        {"kwargs": {"snapshot_id": snap.pk, "task_id": snap.task_id}, "queue": "exports", "task_id": snap.task_id}
    ]
    # A message with another task id (superseded, duplicated) does nothing.
    assert services.snapshot_build(snapshot_id=snap.pk, task_id="someone-else") is None
    snap = services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id)
    assert snap.status == SnapshotStatus.DONE, snap.error
    detail = client.get(f"/api/v1/projects/{project.pk}/snapshots/{snap.pk}").json()
    manifest = detail["manifest"]
    assert detail["progress"]["percent"] == 100
    assert manifest["counts"]["rows"] == snap.rows == 11  # adjacent pairs of the K=4 (9) and K=2 (2) items
    assert manifest["counts"]["labelers"] == 3 and manifest["guideline_versions"] == [1, 2]
    assert manifest["filters"] == data["params"] and manifest["labelhub_version"] == labelhub.__version__
    expected = _stream(
        client, project, "preferences", "format=trl-preference&pairs=adjacent&track=helpful&metadata=true"
    )
    download = client.get(detail["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/jsonl"
    content = b"".join(download.streaming_content)
    assert content == expected
    assert hashlib.sha256(content).hexdigest() == manifest["sha256"] == download["X-Labelhub-SHA256"]
    assert download["Content-Disposition"].startswith("attachment;")
    # Frozen: new labels change the live export, never the snapshot; a re-run of the job is a no-op.
    p, cands = b.prompt(project, "new question", candidates=["new good", "new bad"])
    b.label(
        b.comparison(project, p, cands),
        golden.users["alice"],
        golden.versions[1],
        ranks={cands[0]: 1, cands[1]: 2},
        strength="better",
    )
    assert services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id) is None
    again = b"".join(client.get(detail["download_url"]).streaming_content)
    assert again == content
    assert (
        _stream(client, project, "preferences", "format=trl-preference&pairs=adjacent&track=helpful&metadata=true")
        != content
    )
    listing = client.get(f"/api/v1/projects/{project.pk}/snapshots").json()
    assert [s["id"] for s in listing["results"]] == [snap.pk]


@pytest.mark.django_db
def test_bad_snapshot_requests_create_nothing(golden, api, sent_snapshots, django_capture_on_commit_callbacks):
    client = api(golden.users["eve"])
    for body in (
        {"format": "trl-preference"},
        {"kind": "csv"},
        {"kind": "preferences", "order_by": "id"},
        {"kind": "preferences", "pairs": "many"},
        {"kind": "sft", "consensus": "majority"},
        {"kind": "preferences", "track": [{"$ne": 1}]},
        ["preferences"],
    ):
        response = _create(client, golden.project, body, django_capture_on_commit_callbacks)
        assert response.status_code == 400, body
        assert response.json()["message"]
    assert not ExportSnapshot.objects.exists() and not sent_snapshots
    pending = client.get(f"/api/v1/projects/{golden.project.pk}/snapshots/1/download")
    assert pending.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "allowed"),
    [("admin", True), ("engineer", True), ("labeler", False), ("reviewer", False), ("outsider", False)],
)
def test_snapshot_role_matrix(project, members, api, make_project, staff, who, allowed, sent_snapshots):
    snap = services.snapshot_create(project=project, user=staff, kind="sft", raw={}, send=False)
    snap = services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id)
    other = make_project("Other")
    foreign = services.snapshot_create(project=other, user=staff, kind="sft", raw={}, send=False)
    foreign = services.snapshot_build(snapshot_id=foreign.pk, task_id=foreign.task_id)
    client = api(members[who])
    base = f"/api/v1/projects/{project.pk}/snapshots"
    responses = [
        client.get(base),
        client.get(f"{base}/{snap.pk}"),
        client.get(f"{base}/{snap.pk}/download"),
        client.post(base, {"kind": "sft"}, format="json"),
    ]
    assert [r.status_code for r in responses] == ([200, 200, 200, 202] if allowed else [404] * 4)
    # Another project's snapshot through this project's URL: never.
    assert client.get(f"{base}/{foreign.pk}").status_code == 404
    assert client.get(f"{base}/{foreign.pk}/download").status_code == 404


@pytest.mark.django_db
def test_download_before_done_is_a_conflict(project, members, api, staff):
    snap = services.snapshot_create(project=project, user=staff, kind="sft", raw={}, send=False)
    response = api(members["engineer"]).get(f"/api/v1/projects/{project.pk}/snapshots/{snap.pk}/download")
    assert response.status_code == 409 and "queued" in response.json()["message"]


@pytest.mark.django_db(transaction=True)
def test_broker_down_then_resent_with_a_new_task_id(project, staff, monkeypatch):
    def down(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.snapshot_build_task, "apply_async", down)
    snap = services.snapshot_create(project=project, user=staff, kind="sft", raw={})
    snap.refresh_from_db()
    assert snap.status == SnapshotStatus.QUEUED and snap.sent_at is None  # accepted and recorded
    calls = []
    monkeypatch.setattr(tasks.snapshot_build_task, "apply_async", lambda **kw: calls.append(kw))
    assert services.snapshots_resend() == 0  # just created: not yet
    ExportSnapshot.objects.filter(pk=snap.pk).update(updated_at=timezone.now() - timedelta(minutes=1))
    assert services.snapshots_resend() == 1
    resent = ExportSnapshot.objects.get(pk=snap.pk)
    assert resent.task_id != snap.task_id and calls[0]["task_id"] == resent.task_id and resent.sent_at
    assert services.snapshots_resend() == 0  # sent now: not again
    assert services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id) is None  # the old message
    assert services.snapshot_build(snapshot_id=snap.pk, task_id=resent.task_id).status == SnapshotStatus.DONE


@pytest.mark.django_db
def test_lost_messages_and_dead_runs_are_resent(project, staff, monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.snapshot_build_task, "apply_async", lambda **kw: calls.append(kw))
    lengths = iter([3, 0])
    monkeypatch.setattr(services, "broker_queue_length", lambda queue: next(lengths))
    snap = services.snapshot_create(project=project, user=staff, kind="sft", raw={}, send=False)
    long_ago = timezone.now() - timedelta(minutes=10)
    ExportSnapshot.objects.filter(pk=snap.pk).update(sent_at=long_ago)
    assert services.snapshots_resend() == 0  # messages are waiting in the queue: not lost
    assert services.snapshots_resend() == 1  # the queue is empty: lost, sent again
    # A run whose worker died long ago (beyond the time limit) is queued and sent again.
    dead = services.snapshot_create(project=project, user=staff, kind="kto", raw={}, send=False)
    ExportSnapshot.objects.filter(pk=dead.pk).update(
        status=SnapshotStatus.RUNNING, started_at=timezone.now() - services.STALE_RUNNING - timedelta(minutes=1)
    )
    monkeypatch.setattr(services, "broker_queue_length", lambda queue: 0)
    assert services.snapshots_resend() == 1
    dead.refresh_from_db()
    assert dead.status == SnapshotStatus.QUEUED and calls[-1]["task_id"] == dead.task_id


@pytest.mark.django_db
def test_a_second_delivery_while_running_is_refused_and_a_done_snapshot_never_changes(project, staff, monkeypatch):
    snap = services.snapshot_create(project=project, user=staff, kind="sft", raw={}, send=False)
    ExportSnapshot.objects.filter(pk=snap.pk).update(status=SnapshotStatus.RUNNING, started_at=timezone.now())
    assert services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id) is None  # someone is on it
    # A run that was taken over finishes second: it must not touch the snapshot the winner wrote.
    ExportSnapshot.objects.filter(pk=snap.pk).update(status=SnapshotStatus.QUEUED, started_at=None)
    real_lines = services.export_lines

    def slow_lines(**kwargs):
        # While this (first) run is writing, a takeover run claims the snapshot and completes it.
        ExportSnapshot.objects.filter(pk=snap.pk).update(started_at=timezone.now() - services.STALE_RUNNING * 2)
        monkeypatch.setattr(services, "export_lines", real_lines)
        winner = services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id)
        assert winner.status == SnapshotStatus.DONE
        yield b'{"late": true}\n'

    monkeypatch.setattr(services, "export_lines", slow_lines)
    final = services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id)
    assert final.status == SnapshotStatus.DONE and final.rows == 0
    files = sorted(p.name for p in services.snapshot_path(final).parent.iterdir())
    assert files == sorted([final.file_name, final.file_name.replace(".jsonl", ".manifest.json")])
    assert services.snapshot_path(final).read_bytes() == b""


@pytest.mark.django_db
def test_admins_delete_snapshots_and_their_files(project, members, api, staff):
    snap = services.snapshot_create(project=project, user=staff, kind="sft", raw={}, send=False)
    snap = services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id)
    path = services.snapshot_path(snap)
    url = f"/api/v1/projects/{project.pk}/snapshots/{snap.pk}"
    assert api(members["engineer"]).delete(url).status_code == 403
    assert api(members["labeler"]).delete(url).status_code == 404
    assert path.exists()
    assert api(members["admin"]).delete(url).status_code == 204
    assert not path.exists() and not list(path.parent.iterdir()) and not ExportSnapshot.objects.exists()


@pytest.mark.django_db
def test_a_failed_build_says_why_and_leaves_no_file(project, staff, monkeypatch, settings):
    def boom(**kwargs):
        yield b'{"a":1}\n'
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "export_lines", boom)
    snap = services.snapshot_create(project=project, user=staff, kind="sft", raw={}, send=False)
    snap = services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id)
    assert snap.status == SnapshotStatus.FAILED and "RuntimeError" in snap.error
    assert not any((settings.MEDIA_ROOT / "exports" / str(project.pk)).iterdir())


@pytest.mark.django_db
def test_manage_py_export(golden, api, tmp_path):
    out = tmp_path / "prefs.jsonl"
    call_command(
        "export", str(golden.project.pk), "preferences", "-O", "format=hh-rlhf", "-O", "pairs=adjacent", "-o", str(out)
    )
    expected = _stream(api(golden.users["eve"]), golden.project, "preferences", "format=hh-rlhf&pairs=adjacent")
    assert out.read_bytes() == expected
    stdout = io.StringIO()
    call_command("export", str(golden.project.pk), "sft", "--snapshot", "--user", "eve", stdout=stdout)
    snap = ExportSnapshot.objects.get()
    assert snap.status == "done" and snap.created_by.username == "eve" and snap.sha256 in stdout.getvalue()
    listing = io.StringIO()
    call_command("export", str(golden.project.pk), "--list", stdout=listing)
    assert f"{snap.pk}" in listing.getvalue() and "done" in listing.getvalue()
    with pytest.raises(CommandError, match="pairs"):
        call_command("export", str(golden.project.pk), "preferences", "-O", "pairs=lots", "-o", str(out))
    with pytest.raises(CommandError, match="No project"):
        call_command("export", "999999", "sft")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_snapshot(golden, api, tmp_path, settings):
    """The exports queue, end to end: POST → Celery worker → file → download."""
    require_services()
    worker = start_worker(tmp_path, "exports", env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)})
    try:
        client = api(golden.users["eve"])
        response = client.post(f"/api/v1/projects/{golden.project.pk}/snapshots", {"kind": "kto"}, format="json")
        assert response.status_code == 202
        url = f"/api/v1/projects/{golden.project.pk}/snapshots/{response.json()['id']}"
        wait_for(lambda: client.get(url).json()["status"] in ("done", "failed"), what="the snapshot", proc=worker)
        detail = client.get(url).json()
        assert detail["status"] == "done", detail["error"]
        content = b"".join(client.get(detail["download_url"]).streaming_content)
        assert content == _stream(client, golden.project, "kto", "") and detail["rows"] == 23
    finally:
        stop(worker)
