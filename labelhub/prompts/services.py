"""Prompt import: all or nothing. Any bad line fails the import before a row is visible.

PostgreSQL: one pass, one transaction (writers of other rows never wait on it). SQLite has one
writer at a time, so a long transaction would hold every labeling write for minutes: there the
whole file is validated first, then written in short transactions of BATCH prompts. Until the
import is done its prompts get no work items; a run that dies is resumed (dedup skips what it
already wrote) and one that fails deletes what it wrote."""

import csv
import gc
import logging
import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.broker import broker_queue_length
from labelhub.core.exceptions import ApplicationError
from labelhub.core.heartbeat import heartbeat
from labelhub.projects.models import Project
from labelhub.projects.selectors import project_schema

from .models import Candidate, CandidateSource, ImportStatus, ProjectTag, Prompt, PromptImport
from .parsing import LineError, ParsedPrompt, parse_csv, parse_jsonl
from .signals import prompts_imported

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 1000
IMPORT_RUNNING = (ImportStatus.VALIDATING, ImportStatus.WRITING)
# A running import touches its row this often; one untouched for IMPORT_STALE_AFTER has no live run.
IMPORT_HEARTBEAT_SECONDS = 30
IMPORT_STALE_AFTER = timedelta(minutes=2)
# A queued import sent this long ago while the imports queue is empty was lost by the broker.
IMPORT_LOST_AFTER = timedelta(seconds=60)
BATCH = 2000
# SQLite: prompts per write transaction (about 0.2 s: every other writer waits meanwhile), and a
# pause after each. A waiting writer polls the lock every 100 ms at most (SQLite's busy handler),
# so without the pause the import would take the lock again first, batch after batch.
SQLITE_BATCH = 500
SQLITE_PAUSE_SECONDS = 0.1
FORMATS = ("jsonl", "csv")


def _imports_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


UPLOAD_NAME = re.compile(r"[0-9a-f]{32}\.upload")


def upload_path(imp: PromptImport) -> Path | None:
    """The import's spooled upload, MEDIA_ROOT/imports/<32 hex digits>.upload as spool_upload names
    it, or None. Any other stored path (a tampered row: another directory, "..", a symlink out) is
    refused, so an import can never read another file into prompts, nor delete it."""
    if not imp.file_path:
        return None
    directory = (Path(settings.MEDIA_ROOT) / "imports").resolve()
    path = Path(imp.file_path).resolve()
    if path.parent != directory or not UPLOAD_NAME.fullmatch(Path(imp.file_path).name):
        logger.warning("prompt import %s: refused stored file path %r", imp.pk, imp.file_path[:200])
        return None
    return path


def guess_format(filename: str, content_type: str = "") -> str:
    name = (filename or "").lower()
    if name.endswith(".csv") or content_type.startswith("text/csv"):
        return "csv"
    return "jsonl"


def spool_upload(*, chunks: Iterator[bytes], max_bytes: int) -> tuple[Path, int, int]:
    """Write an upload to a private file, enforcing the size limit while streaming.

    Returns (path, size in bytes, number of lines). The caller owns the file."""
    path = _imports_dir() / f"{uuid.uuid4().hex}.upload"
    size = lines = 0
    last = b""
    try:
        with open(path, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise ApplicationError(
                        f"The file is larger than the limit of {max_bytes // (1024 * 1024)} MiB.",
                        extra={"limit_bytes": max_bytes},
                        status_code=413,
                    )
                lines += chunk.count(b"\n")
                last = chunk[-1:] or last
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size and last != b"\n":
        lines += 1
    if size == 0:
        path.unlink(missing_ok=True)
        raise ApplicationError("The file is empty.")
    return path, size, lines


def prompt_import_create(
    *, project: Project, user: User, path: Path, filename: str, file_format: str, size: int, lines: int
) -> PromptImport:
    if file_format not in FORMATS:
        path.unlink(missing_ok=True)
        raise ApplicationError("Unknown file format.", extra={"allowed": list(FORMATS)})
    return PromptImport.objects.create(
        project=project,
        created_by=user,
        filename=(filename or "upload")[:255],
        file_format=file_format,
        file_path=str(path),
        size_bytes=size,
        total_lines=lines,
    )


def prompt_import_start(
    *, project: Project, user: User, chunks: Iterator[bytes], filename: str, content_type: str = ""
) -> PromptImport:
    """Spool an upload and import it: inline when it is small (the import returned is finished,
    done or failed), else by a worker (the import returned is queued; poll it)."""
    path, size, lines = spool_upload(chunks=chunks, max_bytes=settings.PROMPT_IMPORT_MAX_FILE_BYTES)
    imp = prompt_import_create(
        project=project,
        user=user,
        path=path,
        filename=filename,
        file_format=guess_format(filename, content_type),
        size=size,
        lines=lines,
    )
    if lines <= settings.PROMPT_IMPORT_SYNC_MAX_LINES:
        return prompt_import_run(import_id=imp.pk)
    prompt_import_enqueue(prompt_import=imp)
    return imp


def prompt_import_enqueue(*, prompt_import: PromptImport) -> None:
    """Send the import to a worker once the row is committed. If the broker is unreachable the
    import is marked failed with a clear message instead of sitting 'queued' forever."""
    from .tasks import prompt_import_task

    import_id = prompt_import.pk

    def send():
        try:
            prompt_import_task.apply_async(kwargs={"import_id": import_id}, queue="imports")
        except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
            logger.error("could not enqueue prompt import %s: %s", import_id, type(exc).__name__)
            _fail(import_id, "The task queue is unreachable; the file was not imported. Try again shortly.")

    transaction.on_commit(send)


def _fail(import_id: int, message: str, errors: list | None = None) -> None:
    imp = PromptImport.objects.filter(pk=import_id).first()
    if imp is None:
        return
    _discard_written(import_id)
    PromptImport.objects.filter(pk=import_id).update(
        status=ImportStatus.FAILED,
        message=message,
        errors=errors or [],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    path = upload_path(imp)
    if path is not None:
        path.unlink(missing_ok=True)


def _discard_written(import_id: int) -> None:
    """Delete what an unfinished chunked (SQLite) import committed, a batch per transaction. Its
    prompts have no work items yet (work_items_sync skips running imports), so no label goes."""
    while ids := list(Prompt.objects.filter(source_import_id=import_id).values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            Candidate.objects.filter(prompt_id__in=ids).delete()
            Prompt.objects.filter(pk__in=ids).delete()


class _Rollback(Exception):
    """Raised inside the import transaction to undo everything written so far."""


def _report_progress(import_id: int, lines: int) -> None:
    """Progress of a running import lives in the cache (the rows being written are not visible
    outside the import's transaction). Best effort: a cache outage never fails an import."""
    try:
        cache.set(f"prompt-import:{import_id}:lines", lines, timeout=24 * 3600)
    except Exception:  # noqa: BLE001 - progress is cosmetic
        logger.debug("could not record progress of import %s", import_id)


def prompt_import_progress(*, prompt_import: PromptImport) -> int:
    if prompt_import.is_finished or prompt_import.status == ImportStatus.QUEUED:
        return prompt_import.processed_lines
    try:
        return int(cache.get(f"prompt-import:{prompt_import.pk}:lines") or prompt_import.processed_lines)
    except Exception:  # noqa: BLE001
        return prompt_import.processed_lines


def _existing(project: Project, column: str, values: list[str]) -> set[str]:
    """Which of `values` the project already has (external ids, or hashes of id-less prompts)."""
    if not values:
        return set()
    if connection.vendor == "postgresql":
        # One array parameter instead of thousands of placeholders: cheaper to build and to plan.
        extra = "" if column == "external_id" else " AND external_id IS NULL"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {column} FROM {Prompt._meta.db_table} WHERE project_id = %s AND {column} = ANY(%s){extra}",  # noqa: S608
                [project.pk, values],
            )
            return {row[0] for row in cursor.fetchall()}
    if column == "external_id":
        qs = Prompt.objects.filter(project=project, external_id__in=values)
    else:
        qs = Prompt.objects.filter(project=project, external_id__isnull=True, content_hash__in=values)
    return set(qs.values_list(column, flat=True))


class _Importer:
    """One pass over the file inside one transaction: parse a chunk, dedupe it against the
    project, write it (COPY on PostgreSQL), go on. The database writes overlap with parsing the
    next chunk. After the first bad line nothing more is written, every further bad line is
    still reported, and the transaction is rolled back: all or nothing. The SQLite path runs it
    twice: write=False to validate the file, then chunked=True (no caller transaction: a
    transaction per batch)."""

    def __init__(self, imp: PromptImport, project: Project, path: Path, *, write: bool = True, chunked: bool = False):
        self.imp, self.project, self.path = imp, project, path
        # write=False: validate only. chunked: each batch (and its tags) in its own transaction.
        self.write, self.chunked = write, chunked
        self.errors: list[dict] = []
        self.error_count = 0
        self.seen_ids: dict[str, int] = {}
        self.seen_hashes: set[str] = set()
        self.tags: set[str] = set()
        self.parsed = self.created = self.skipped = self.candidates = 0
        self.insert = _insert_copy if connection.vendor == "postgresql" else _insert_orm

    def _error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"line": line, "message": message})

    def run(self) -> None:
        # Millions of short-lived objects: the cyclic GC would rescan them over and over.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._run()
        finally:
            if gc_was_enabled:
                gc.enable()

    def _run(self) -> None:
        tracks = project_schema(project=self.project).track_names
        default_track = tracks[0]
        parser = parse_csv if self.imp.file_format == "csv" else parse_jsonl
        chunk: list[ParsedPrompt] = []
        with open(self.path, "rb") as stream:
            items = parser(
                stream, tracks=tracks, default_track=default_track, max_line_bytes=settings.PROMPT_IMPORT_MAX_LINE_BYTES
            )
            for item in items:
                if isinstance(item, LineError):
                    self._error(item.line, item.message)
                    continue
                if item.external_id is not None:
                    first = self.seen_ids.setdefault(item.external_id, item.line)
                    if first != item.line:
                        self._error(item.line, f"duplicate id {item.external_id!r} (first on line {first})")
                        continue
                elif item.content_hash in self.seen_hashes:
                    self.parsed += 1
                    self.skipped += 1
                    continue
                else:
                    self.seen_hashes.add(item.content_hash)
                self.parsed += 1
                if self.write and not self.error_count:
                    chunk.append(item)
                    if len(chunk) >= (SQLITE_BATCH if self.chunked else BATCH):
                        self._flush(chunk, item.line)
                        chunk = []
        if self.write and not self.error_count:
            self._flush(chunk, None)
            if self.tags and not self.chunked:
                self._write_tags()

    def _flush(self, chunk: list[ParsedPrompt], line: int | None) -> None:
        if not chunk:
            return
        if self.chunked:
            with transaction.atomic():
                self._write(chunk)
                self._write_tags()
            time.sleep(SQLITE_PAUSE_SECONDS)
        else:
            self._write(chunk)
        if line is not None:
            _report_progress(self.imp.pk, line)

    def _write_tags(self) -> None:
        ProjectTag.objects.bulk_create(
            [ProjectTag(project=self.project, name=t) for t in sorted(self.tags)], ignore_conflicts=True
        )
        self.tags.clear()

    def _write(self, chunk: list[ParsedPrompt]) -> None:
        ids = [p.external_id for p in chunk if p.external_id is not None]
        hashes = [p.content_hash for p in chunk if p.external_id is None]
        existing_ids = _existing(self.project, "external_id", ids)
        existing_hashes = _existing(self.project, "content_hash", hashes)
        new = [
            p
            for p in chunk
            if (
                p.external_id not in existing_ids
                if p.external_id is not None
                else p.content_hash not in existing_hashes
            )
        ]
        self.skipped += len(chunk) - len(new)
        created, candidates = self.insert(imp=self.imp, project=self.project, new=new)
        self.created += created
        self.candidates += candidates
        for p in new:
            self.tags.update(p.tags)


def _candidate_provenance(imp: PromptImport, p: ParsedPrompt, c: dict) -> dict:
    return {"source": "imported", "import_id": imp.pk, "line": p.line, "model": c["model"]}


def _insert_orm(*, imp: PromptImport, project: Project, new: list[ParsedPrompt]) -> tuple[int, int]:
    """Portable path (SQLite): bulk_create in batches."""
    created = candidates = 0
    for i in range(0, len(new), BATCH):
        chunk = new[i : i + BATCH]
        rows = Prompt.objects.bulk_create(
            [
                Prompt(
                    project=project,
                    external_id=p.external_id,
                    messages=p.messages,
                    text=p.text,
                    tags=p.tags,
                    track=p.track,
                    metadata=p.metadata,
                    content_hash=p.content_hash,
                    created_by_id=imp.created_by_id,
                    source_import=imp,
                )
                for p in chunk
            ],
            batch_size=BATCH,
        )
        cand_rows = [
            Candidate(
                prompt_id=row.pk,
                content=c["content"],
                source=CandidateSource.IMPORTED,
                model_name=c["model"],
                provenance=_candidate_provenance(imp, p, c),
            )
            for row, p in zip(rows, chunk, strict=True)
            for c in p.candidates
        ]
        Candidate.objects.bulk_create(cand_rows, batch_size=BATCH)
        created += len(rows)
        candidates += len(cand_rows)
    return created, candidates


def _json(value) -> str:
    return orjson.dumps(value).decode()


def _columns(model, names: list[str]) -> str:
    return ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)


def _insert_copy(*, imp: PromptImport, project: Project, new: list[ParsedPrompt]) -> tuple[int, int]:
    """PostgreSQL path: ids reserved from the sequence, rows streamed with COPY (about 5x faster
    than bulk_create, which builds a model instance and adapts every value in Python).
    Runs inside the caller's transaction, so a failure leaves nothing behind."""
    if not new:
        return 0, 0
    now = timezone.now()
    candidates = 0
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Prompt._meta.db_table, len(new)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        prompt_cols = [
            "id", "created_at", "updated_at", "project", "external_id", "messages", "text", "tags", "track",
            "metadata", "content_hash", "created_by", "source_import",
        ]  # fmt: skip
        with raw.copy(f"COPY {Prompt._meta.db_table} ({_columns(Prompt, prompt_cols)}) FROM STDIN") as copy:
            for pk, p in zip(ids, new, strict=True):
                copy.write_row(
                    (
                        pk, now, now, project.pk, p.external_id, _json(p.messages), p.text,
                        _json(p.tags), p.track, _json(p.metadata),
                        p.content_hash, imp.created_by_id, imp.pk,
                    )
                )  # fmt: skip
        cand_cols = [
            "created_at", "updated_at", "prompt", "content", "source", "model_name", "provenance", "finish_reason",
            "raw_escaped",
        ]  # fmt: skip
        with raw.copy(f"COPY {Candidate._meta.db_table} ({_columns(Candidate, cand_cols)}) FROM STDIN") as copy:
            for pk, p in zip(ids, new, strict=True):
                for c in p.candidates:
                    provenance = _json(_candidate_provenance(imp, p, c))
                    copy.write_row(
                        (now, now, pk, c["content"], CandidateSource.IMPORTED, c["model"], provenance, "", "")
                    )
                    candidates += 1
    return len(new), candidates


def _is_unique_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc)


def prompt_import_run(*, import_id: int) -> PromptImport:
    """Run an import to completion. Idempotent: a finished import is returned as is, and one that
    another run is writing (its heartbeat is fresh) is left to it. A run that died (worker killed:
    its heartbeat stopped) is taken over by the next one; nothing of it was committed."""
    now = timezone.now()
    claimed = (
        PromptImport.objects.filter(pk=import_id)
        .filter(Q(status=ImportStatus.QUEUED) | Q(status__in=IMPORT_RUNNING, updated_at__lt=now - IMPORT_STALE_AFTER))
        .update(status=ImportStatus.VALIDATING, processed_lines=0, updated_at=now)
    )
    imp = PromptImport.objects.select_related("project").get(pk=import_id)
    if not claimed:
        return imp
    path = upload_path(imp)
    if path is None or not path.exists():
        _fail(import_id, "The uploaded file is gone; upload it again.")
        return PromptImport.objects.get(pk=import_id)
    PromptImport.objects.filter(pk=import_id).update(status=ImportStatus.WRITING, updated_at=timezone.now())

    def still_running() -> None:
        PromptImport.objects.filter(pk=import_id, status__in=IMPORT_RUNNING).update(updated_at=timezone.now())

    with heartbeat(IMPORT_HEARTBEAT_SECONDS, still_running, name=f"prompt-import-{import_id}"):
        return _import_write(imp, path)


def _mark_done(imp: PromptImport, *, created: int, skipped: int, candidates: int) -> None:
    PromptImport.objects.filter(pk=imp.pk).update(
        status=ImportStatus.DONE,
        processed_lines=imp.total_lines,
        created_count=created,
        skipped_count=skipped,
        candidate_count=candidates,
        message=f"{created} prompt(s) imported, {skipped} skipped as already present.",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _write_in_one_transaction(imp: PromptImport, path: Path) -> None:
    importer = _Importer(imp, imp.project, path)
    with transaction.atomic():
        importer.run()
        if importer.error_count or not importer.parsed:
            raise _Rollback(importer)
        _mark_done(imp, created=importer.created, skipped=importer.skipped, candidates=importer.candidates)


def _write_in_chunks(imp: PromptImport, path: Path) -> None:
    """Validate the whole file, then write it a batch per transaction. A resumed run skips the
    prompts an earlier run of this import committed; the counts come from the rows themselves."""
    check = _Importer(imp, imp.project, path, write=False)
    check.run()
    if check.error_count or not check.parsed:
        raise _Rollback(check)
    writer = _Importer(imp, imp.project, path, chunked=True)
    writer.run()
    if writer.error_count:  # the spooled file changed under us
        raise _Rollback(writer)
    created = Prompt.objects.filter(source_import=imp).count()
    candidates = Candidate.objects.filter(prompt__source_import=imp, source=CandidateSource.IMPORTED).count()
    _mark_done(imp, created=created, skipped=writer.parsed - created, candidates=candidates)


def _import_write(imp: PromptImport, path: Path) -> PromptImport:
    import_id = imp.pk
    write = _write_in_one_transaction if connection.vendor == "postgresql" else _write_in_chunks
    for attempt in range(2):
        try:
            write(imp, path)
            break
        except _Rollback as rollback:
            importer = rollback.args[0]
            if importer.error_count:
                listed = len(importer.errors)
                more = f" (the first {listed} are listed)" if importer.error_count > listed else ""
                _fail(import_id, f"{importer.error_count} bad line(s){more}; nothing was imported.", importer.errors)
            else:
                _fail(import_id, "The file holds no prompts.")
            return PromptImport.objects.get(pk=import_id)
        except IntegrityError as exc:
            # A concurrent import inserted some of the same prompts: dedupe against them and retry.
            if not _is_unique_violation(exc):
                logger.exception("prompt import %s failed while writing", import_id)
                _fail(import_id, "The prompts could not be written (a database error); nothing was imported.")
                return PromptImport.objects.get(pk=import_id)
            if attempt:
                logger.exception("prompt import %s conflicted twice", import_id)
                _fail(import_id, "Another import of the same prompts ran at the same time; try again.")
                return PromptImport.objects.get(pk=import_id)
        except (OSError, UnicodeError, csv.Error):
            logger.exception("prompt import %s could not read its file", import_id)
            _fail(import_id, "The file could not be read; nothing was imported.")
            return PromptImport.objects.get(pk=import_id)
    path.unlink(missing_ok=True)
    _queue_work_items_sync(imp.project_id)
    return PromptImport.objects.get(pk=import_id)


def prompt_imports_reap() -> dict:
    """Periodic (beat, every minute): no import stays "queued" or "writing" forever.

    - running with a stale heartbeat (the worker or the web process running it died): queued again;
    - queued a while ago while the imports queue is empty (Redis lost the message): sent again.
    A second message for the same import is harmless: the claim lets one run through."""
    now = timezone.now()
    dead = list(
        PromptImport.objects.filter(status__in=IMPORT_RUNNING, updated_at__lt=now - IMPORT_STALE_AFTER).values_list(
            "pk", flat=True
        )[:100]
    )
    requeued = PromptImport.objects.filter(
        pk__in=dead, status__in=IMPORT_RUNNING, updated_at__lt=now - IMPORT_STALE_AFTER
    ).update(
        status=ImportStatus.QUEUED,
        processed_lines=0,
        updated_at=now,
        message="The import was interrupted (a worker stopped); it runs again.",
    )
    lost = []
    if broker_queue_length("imports") == 0:
        lost = list(
            PromptImport.objects.filter(status=ImportStatus.QUEUED, updated_at__lt=now - IMPORT_LOST_AFTER)
            .exclude(pk__in=dead)
            .values_list("pk", flat=True)[:100]
        )
        PromptImport.objects.filter(pk__in=lost, status=ImportStatus.QUEUED).update(updated_at=now)
    from .tasks import prompt_import_task

    sent = 0
    for import_id in [*dead, *lost]:
        try:
            prompt_import_task.apply_async(kwargs={"import_id": import_id}, queue="imports")
            sent += 1
        except Exception as exc:  # noqa: BLE001 - still queued: the next round sends it
            logger.warning("could not re-send prompt import %s: %s", import_id, type(exc).__name__)
            break
    return {"requeued": requeued, "lost": len(lost), "sent": sent}


def _queue_work_items_sync(project_id: int) -> None:
    """New prompts become labeling work: once committed, labeling queues its sync (prompts.signals)."""
    transaction.on_commit(lambda: prompts_imported.send(sender=PromptImport, project_id=project_id))
