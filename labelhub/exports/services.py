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
from labelhub.projects.models import Project

from .models import ExportSnapshot, SnapshotStatus
from .params import allowed_keys
from .selectors import ExportStats, consistent_read, export_lines, export_params_for_project, labels_for_export

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 5000  # rows between progress updates
RESEND_AFTER = timedelta(minutes=2)  # a queued snapshot no worker picked up by then is sent again


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
    """Send the job; never raises. If the broker is down the row stays queued and the maintenance
    task sends it again later."""
    from .tasks import snapshot_build_task

    task_id = ExportSnapshot.objects.filter(pk=snapshot_id).values_list("task_id", flat=True).first()
    if not task_id:
        return False
    try:
        snapshot_build_task.apply_async(
            kwargs={"snapshot_id": snapshot_id, "task_id": task_id}, queue="exports", task_id=task_id
        )
        return True
    except Exception as exc:  # noqa: BLE001 - reported, retried by the maintenance task
        logger.error("could not enqueue export snapshot %s: %s", snapshot_id, type(exc).__name__)
        return False


def snapshots_resend() -> int:
    """Re-send snapshots still queued long after creation (broker down or its queue lost). Each gets
    a new task id, so the old message, if it ever arrives, is a no-op."""
    cutoff = timezone.now() - RESEND_AFTER
    sent = 0
    for pk in ExportSnapshot.objects.filter(status=SnapshotStatus.QUEUED, updated_at__lt=cutoff).values_list(
        "pk", flat=True
    )[:100]:
        ExportSnapshot.objects.filter(pk=pk, status=SnapshotStatus.QUEUED).update(
            task_id=str(uuid.uuid4()), updated_at=timezone.now()
        )
        sent += snapshot_send(snapshot_id=pk)
    return sent


def _storage_dir(project_id: int) -> Path:
    path = Path(settings.MEDIA_ROOT) / "exports" / str(project_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def snapshot_path(snapshot: ExportSnapshot) -> Path:
    return Path(settings.MEDIA_ROOT) / snapshot.relative_path


def snapshot_build(*, snapshot_id: int, task_id: str) -> ExportSnapshot | None:
    """Write the snapshot file. Runs only under the task id stored on the row; a snapshot already
    done is never touched again. A worker killed midway leaves the row running with the same task
    id: the re-delivered message starts over (the file only appears complete, by rename)."""
    claimed = ExportSnapshot.objects.filter(
        Q(status=SnapshotStatus.QUEUED) | Q(status=SnapshotStatus.RUNNING), pk=snapshot_id, task_id=task_id
    ).update(status=SnapshotStatus.RUNNING, started_at=timezone.now(), updated_at=timezone.now())
    if not claimed:
        return None
    snapshot = ExportSnapshot.objects.select_related("project").get(pk=snapshot_id)
    project = snapshot.project
    directory = _storage_dir(project.pk)
    final = directory / f"{snapshot.key}.jsonl"
    partial = directory / f".{snapshot.key}.{os.getpid()}.partial"
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
                    if stats.rows >= next_report:
                        _set_progress(snapshot_id, labels_total=total, labels_done=stats.labels, rows=stats.rows)
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
            "guideline_versions": sorted(stats.guideline_versions),
            "file": snapshot.filename,
            "size_bytes": size,
            "sha256": digest.hexdigest(),
            "created_at": snapshot.created_at.isoformat(),
            "finished_at": now.isoformat(),
            "labelhub_version": labelhub.__version__,
        }
        os.replace(partial, final)
        (directory / f"{snapshot.key}.manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        ExportSnapshot.objects.filter(pk=snapshot_id, task_id=task_id).update(
            status=SnapshotStatus.DONE,
            rows=stats.rows,
            size_bytes=size,
            sha256=digest.hexdigest(),
            manifest=manifest,
            finished_at=now,
            updated_at=now,
            error="",
        )
    except Exception as exc:
        partial.unlink(missing_ok=True)
        logger.exception("export snapshot %s failed", snapshot_id)
        message = getattr(exc, "message", None) or f"The export failed ({type(exc).__name__}); try again."
        ExportSnapshot.objects.filter(pk=snapshot_id, task_id=task_id).update(
            status=SnapshotStatus.FAILED,
            error=str(message)[:2000],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
    return ExportSnapshot.objects.get(pk=snapshot_id)
