"""Snapshots: an export frozen into a file by a worker, with a manifest and a SHA-256.

A snapshot is written once, to a temporary file renamed into place only when complete, and never
changed after; downloading it again gives the same bytes. The job is sent after commit to the
`exports` queue; a job runs only under the task id stored on the row (compare-and-set), so a
re-delivered or superseded message is a no-op; the maintenance task re-sends snapshots the broker
never got."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from datetime import timedelta
from pathlib import Path

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import labelhub
from labelhub.accounts.models import User
from labelhub.core.broker import broker_queue_length
from labelhub.core.db import consistent_read
from labelhub.core.exceptions import Conflict
from labelhub.projects.models import Project

from .models import ExportSnapshot, SnapshotStatus
from .params import allowed_keys
from .selectors import ExportStats, export_lines, export_params_for_project, labels_for_export

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 5000  # labels between progress updates
UNSENT_GRACE = timedelta(seconds=30)  # a snapshot whose send failed is sent again after this
RESEND_AFTER = timedelta(minutes=5)  # sent this long ago, still queued, and the queue is empty: lost
BUILD_TIME_LIMIT = 3500  # seconds; under the broker's visibility timeout (3600)
# Running beyond the task's hard time limit (plus a margin) means its worker died.
STALE_RUNNING = timedelta(seconds=BUILD_TIME_LIMIT + 300)


def _progress_key(snapshot_id: int) -> str:
    return f"labelhub:snapshot-progress:{snapshot_id}"


def snapshot_progress(snapshot: ExportSnapshot) -> dict:
    """{"labels_done", "labels_total", "rows", "percent"} while running (from the cache: the rows
    being read are in the worker's open transaction), final figures when done."""
    if snapshot.status == SnapshotStatus.DONE:
        counts = snapshot.manifest.get("counts", {})
        return {
            "labels_done": counts.get("labels", 0),
            "labels_total": counts.get("labels", 0),
            "rows": snapshot.rows,
            "percent": 100,
        }
    data = {}
    if snapshot.status == SnapshotStatus.RUNNING:
        try:
            data = cache.get(_progress_key(snapshot.pk)) or {}
        except Exception:  # noqa: BLE001 - progress is best effort
            data = {}
    total, done = data.get("labels_total", 0), data.get("labels_done", 0)
    percent = min(99, int(100 * done / total)) if total else 0
    return {"labels_done": done, "labels_total": total, "rows": data.get("rows", 0), "percent": percent}


def _set_progress(snapshot_id: int, **values) -> None:
    try:
        cache.set(_progress_key(snapshot_id), values, timeout=3600)
    except Exception as exc:  # noqa: BLE001 - progress is best effort
        logger.warning("snapshot %s: progress not recorded (%s)", snapshot_id, type(exc).__name__)


def snapshot_create(
    *, project: Project, user: User | None, kind: str, raw: dict[str, list[str]], send: bool = True
) -> ExportSnapshot:
    """Validate the options exactly as the streaming endpoint does, store them normalised, and send
    the job once the row is committed (send=False: the caller builds it, e.g. `manage.py export`)."""
    params = export_params_for_project(project=project, kind=kind, raw=raw)
    snapshot = ExportSnapshot.objects.create(
        project=project,
        created_by=user,
        kind=params.kind,
        format=params.format,
        params=params.as_query(),
        task_id=str(uuid.uuid4()),
    )
    if send:
        transaction.on_commit(lambda: snapshot_send(snapshot_id=snapshot.pk))
    return snapshot


def snapshot_send(*, snapshot_id: int) -> bool:
    """Send the job; never raises. If the broker is down the row stays queued with no `sent_at`, and
    the maintenance task sends it again."""
    from .tasks import snapshot_build_task

    task_id = ExportSnapshot.objects.filter(pk=snapshot_id).values_list("task_id", flat=True).first()
    if not task_id:
        return False
    try:
        snapshot_build_task.apply_async(
            kwargs={"snapshot_id": snapshot_id, "task_id": task_id}, queue="exports", task_id=task_id
        )
    except Exception as exc:  # noqa: BLE001 - reported, retried by the maintenance task
        logger.error("could not enqueue export snapshot %s: %s", snapshot_id, type(exc).__name__)
        return False
    ExportSnapshot.objects.filter(pk=snapshot_id, task_id=task_id).update(sent_at=timezone.now())
    return True


def _resend(queryset, *, requeue: bool = False) -> int:
    sent = 0
    for pk in queryset.values_list("pk", flat=True)[:100]:
        changes = {"task_id": str(uuid.uuid4()), "sent_at": None, "updated_at": timezone.now()}
        if requeue:
            changes |= {"status": SnapshotStatus.QUEUED, "started_at": None}
        if queryset.filter(pk=pk).update(**changes):
            sent += snapshot_send(snapshot_id=pk)
    return sent


def snapshots_resend() -> int:
    """Re-send what the broker lost; runs every minute (Celery beat). Each re-send gets a new task
    id, so an old message that still arrives is a no-op.
    - queued and never sent (the broker was down), after UNSENT_GRACE;
    - queued, sent long ago, while the exports queue is empty (the broker lost the message);
    - running far beyond the task's time limit (its worker died and the message is gone)."""
    now = timezone.now()
    queued = ExportSnapshot.objects.filter(status=SnapshotStatus.QUEUED)
    sent = _resend(queued.filter(sent_at__isnull=True, updated_at__lt=now - UNSENT_GRACE))
    lost = queued.filter(sent_at__lt=now - RESEND_AFTER)
    if lost.exists() and broker_queue_length("exports") == 0:
        sent += _resend(lost)
    dead = ExportSnapshot.objects.filter(status=SnapshotStatus.RUNNING, started_at__lt=now - STALE_RUNNING)
    return sent + _resend(dead, requeue=True)


def _storage_dir(project_id: int) -> Path:
    path = Path(settings.MEDIA_ROOT) / "exports" / str(project_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


# The names snapshot_build gives its files: "<snapshot key>-<12 hex digits>.jsonl".
SNAPSHOT_FILE_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{12}\.jsonl")


def snapshot_path(snapshot: ExportSnapshot) -> Path | None:
    """The snapshot's file, inside MEDIA_ROOT/exports/<project id>/, or None. A stored name that is
    not one labelhub writes (a path, "..", a separator: a tampered row) is refused, and so is a
    file that resolves elsewhere (a symlink): a download must not read, nor a delete remove, a
    file outside the project's directory."""
    if not snapshot.file_name:
        return None
    directory = (Path(settings.MEDIA_ROOT) / "exports" / str(snapshot.project_id)).resolve()
    path = (directory / snapshot.file_name).resolve()
    if not SNAPSHOT_FILE_NAME.fullmatch(snapshot.file_name) or path.parent != directory:
        logger.warning("snapshot %s: refused stored file name %r", snapshot.pk, snapshot.file_name[:100])
        return None
    return path


def _claim(snapshot_id: int, task_id: str):
    """Queued → running under this task id; a run that is long dead (redelivered message) may be
    taken over. Returns the claim time, which identifies this run, or None."""
    now = timezone.now()
    claimable = Q(status=SnapshotStatus.QUEUED) | Q(status=SnapshotStatus.RUNNING, started_at__lt=now - STALE_RUNNING)
    claimed = ExportSnapshot.objects.filter(claimable, pk=snapshot_id, task_id=task_id).update(
        status=SnapshotStatus.RUNNING, started_at=now, updated_at=now
    )
    return now if claimed else None


def snapshot_build(*, snapshot_id: int, task_id: str) -> ExportSnapshot | None:
    """Write the snapshot file. Runs only under the task id stored on the row, once (a second
    delivery while it runs is refused); each run writes its own file, and only the run that still
    holds the claim when it finishes marks the snapshot done, so a done snapshot never changes."""
    claimed_at = _claim(snapshot_id, task_id)
    if claimed_at is None:
        return None
    mine = ExportSnapshot.objects.filter(
        pk=snapshot_id, task_id=task_id, status=SnapshotStatus.RUNNING, started_at=claimed_at
    )
    snapshot = ExportSnapshot.objects.select_related("project").get(pk=snapshot_id)
    project = snapshot.project
    directory = _storage_dir(project.pk)
    name = f"{snapshot.key}-{uuid.uuid4().hex[:12]}"
    data_path, manifest_path = directory / f"{name}.jsonl", directory / f"{name}.manifest.json"
    partial = directory / f".{name}.partial"
    stats = ExportStats()
    digest = hashlib.sha256()
    size = 0
    try:
        params = export_params_for_project(
            project=project,
            kind=snapshot.kind,
            raw={k: [v] for k, v in snapshot.params.items() if k in allowed_keys(snapshot.kind)},
        )
        with consistent_read():
            total = labels_for_export(project=project, params=params).count()
            _set_progress(snapshot_id, labels_total=total, labels_done=0, rows=0)
            with open(partial, "wb") as out:
                next_report = PROGRESS_EVERY
                for line in export_lines(project=project, params=params, stats=stats):
                    out.write(line)
                    digest.update(line)
                    size += len(line)
                    if stats.labels_read >= next_report:
                        _set_progress(snapshot_id, labels_total=total, labels_done=stats.labels_read, rows=stats.rows)
                        next_report += PROGRESS_EVERY
                out.flush()
                os.fsync(out.fileno())
        now = timezone.now()
        manifest = {
            "snapshot_id": snapshot.pk,
            "project": {"id": project.pk, "name": project.name},
            "kind": snapshot.kind,
            "format": snapshot.format,
            "filters": snapshot.params,
            "counts": stats.as_dict(),
            "notes": params.notes(),
            "held_out": stats.held_out_manifest(params),
            "guideline_versions": sorted(stats.guideline_versions),
            "schemas": stats.schemas_manifest(),
            "file": snapshot.filename,
            "size_bytes": size,
            "sha256": digest.hexdigest(),
            "created_at": snapshot.created_at.isoformat(),
            "finished_at": now.isoformat(),
            "labelhub_version": labelhub.__version__,
        }
        os.replace(partial, data_path)
        manifest_path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        done = mine.update(
            status=SnapshotStatus.DONE,
            file_name=data_path.name,
            rows=stats.rows,
            size_bytes=size,
            sha256=digest.hexdigest(),
            manifest=manifest,
            finished_at=now,
            updated_at=now,
            error="",
        )
        if not done:  # another run took over meanwhile: its file is the snapshot, not this one
            data_path.unlink(missing_ok=True)
            manifest_path.unlink(missing_ok=True)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        logger.exception("export snapshot %s failed", snapshot_id)
        message = getattr(exc, "message", None) or f"The export failed ({type(exc).__name__}); try again."
        mine.update(
            status=SnapshotStatus.FAILED,
            error=str(message)[:2000],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
    return ExportSnapshot.objects.get(pk=snapshot_id)


def snapshot_delete(*, snapshot: ExportSnapshot) -> None:
    """Remove a snapshot and its files (retention). A running one cannot be deleted."""
    if snapshot.status == SnapshotStatus.RUNNING:
        raise Conflict("The snapshot is being written; delete it once it is done or failed.")
    path = snapshot_path(snapshot)
    snapshot.delete()
    if path is not None:
        path.unlink(missing_ok=True)
        path.with_name(path.name.removesuffix(".jsonl") + ".manifest.json").unlink(missing_ok=True)
