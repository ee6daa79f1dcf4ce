"""Prompt import: validate the whole file, then write it in one transaction, or write nothing."""

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError
from labelhub.projects.models import Project

from .models import Candidate, CandidateSource, ImportStatus, Prompt, PromptImport, PromptTag
from .parsing import LineError, ParsedPrompt, parse_csv, parse_jsonl

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 1000
BATCH = 2000
_PROGRESS_EVERY = 5000
FORMATS = ("jsonl", "csv")


def _imports_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
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
        except Exception as exc:
            logger.error("could not enqueue prompt import %s: %s", import_id, type(exc).__name__)
            _fail(import_id, "The task queue is unreachable; the file was not imported. Try again shortly.")

    transaction.on_commit(send)


def _fail(import_id: int, message: str, errors: list | None = None) -> None:
    imp = PromptImport.objects.filter(pk=import_id).first()
    if imp is None:
        return
    PromptImport.objects.filter(pk=import_id).update(
        status=ImportStatus.FAILED,
        message=message,
        errors=errors or [],
        finished_at=timezone.now(),
    )
    if imp.file_path:
        Path(imp.file_path).unlink(missing_ok=True)


def _parse(imp: PromptImport, project: Project) -> tuple[list[ParsedPrompt], list[dict], int]:
    tracks = project.tracks or ["helpful"]
    default_track = "helpful" if "helpful" in tracks else tracks[0]
    parser = parse_csv if imp.file_format == "csv" else parse_jsonl
    good: list[ParsedPrompt] = []
    errors: list[dict] = []
    error_count = 0
    seen_ids: dict[str, int] = {}
    with open(imp.file_path, "rb") as stream:
        for n, item in enumerate(
            parser(
                stream,
                tracks=tracks,
                default_track=default_track,
                max_line_bytes=settings.PROMPT_IMPORT_MAX_LINE_BYTES,
            ),
            start=1,
        ):
            if isinstance(item, LineError):
                error_count += 1
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(item.as_dict())
            else:
                if item.external_id is not None:
                    first = seen_ids.setdefault(item.external_id, item.line)
                    if first != item.line:
                        error_count += 1
                        if len(errors) < MAX_REPORTED_ERRORS:
                            errors.append(
                                {
                                    "line": item.line,
                                    "message": f"duplicate id {item.external_id!r} (first on line {first})",
                                }
                            )
                        continue
                good.append(item)
            if n % _PROGRESS_EVERY == 0:
                PromptImport.objects.filter(pk=imp.pk).update(processed_lines=min(n, imp.total_lines))
    return good, errors, error_count


def _write(*, imp: PromptImport, project: Project, items: list[ParsedPrompt]) -> tuple[int, int, int]:
    """Insert the prompts that are not in the project yet. Returns (created, skipped, candidates)."""
    with_id = [p for p in items if p.external_id is not None]
    without_id: list[ParsedPrompt] = []
    seen_hashes: set[str] = set()
    skipped = 0
    for p in items:
        if p.external_id is None:
            if p.content_hash in seen_hashes:
                skipped += 1
                continue
            seen_hashes.add(p.content_hash)
            without_id.append(p)

    existing_ids: set[str] = set()
    ids = [p.external_id for p in with_id]
    for i in range(0, len(ids), BATCH):
        existing_ids.update(
            Prompt.objects.filter(project=project, external_id__in=ids[i : i + BATCH]).values_list(
                "external_id", flat=True
            )
        )
    existing_hashes: set[str] = set()
    hashes = [p.content_hash for p in without_id]
    for i in range(0, len(hashes), BATCH):
        existing_hashes.update(
            Prompt.objects.filter(
                project=project, external_id__isnull=True, content_hash__in=hashes[i : i + BATCH]
            ).values_list("content_hash", flat=True)
        )
    new = [p for p in with_id if p.external_id not in existing_ids]
    new += [p for p in without_id if p.content_hash not in existing_hashes]
    skipped = len(items) - len(new)
    new.sort(key=lambda p: p.line)

    insert = _insert_copy if connection.vendor == "postgresql" else _insert_orm
    created, candidates = insert(imp=imp, project=project, new=new)
    return created, skipped, candidates


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
        PromptTag.objects.bulk_create(
            [
                PromptTag(project=project, prompt_id=row.pk, name=tag)
                for row, p in zip(rows, chunk, strict=True)
                for tag in p.tags
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
        with raw.copy(
            f"COPY {PromptTag._meta.db_table} ({_columns(PromptTag, ['project', 'prompt', 'name'])}) FROM STDIN"
        ) as copy:
            for pk, p in zip(ids, new, strict=True):
                for tag in p.tags:
                    copy.write_row((project.pk, pk, tag))
        cand_cols = ["created_at", "updated_at", "prompt", "content", "source", "model_name", "provenance"]
        with raw.copy(f"COPY {Candidate._meta.db_table} ({_columns(Candidate, cand_cols)}) FROM STDIN") as copy:
            for pk, p in zip(ids, new, strict=True):
                for c in p.candidates:
                    provenance = _json(_candidate_provenance(imp, p, c))
                    copy.write_row((now, now, pk, c["content"], CandidateSource.IMPORTED, c["model"], provenance))
                    candidates += 1
    return len(new), candidates


def prompt_import_run(*, import_id: int) -> PromptImport:
    """Run an import to completion. Idempotent: a finished import is returned as is; a re-delivered
    task resumes a half-done one (nothing of a failed write was committed)."""
    claimed = PromptImport.objects.filter(
        pk=import_id, status__in=[ImportStatus.QUEUED, ImportStatus.VALIDATING, ImportStatus.WRITING]
    ).update(status=ImportStatus.VALIDATING, processed_lines=0)
    imp = PromptImport.objects.select_related("project").get(pk=import_id)
    if not claimed:
        return imp
    if not imp.file_path or not os.path.exists(imp.file_path):
        _fail(import_id, "The uploaded file is gone; upload it again.")
        return PromptImport.objects.get(pk=import_id)
    project = imp.project
    try:
        items, errors, error_count = _parse(imp, project)
    except Exception:
        logger.exception("prompt import %s failed while parsing", import_id)
        _fail(import_id, "The file could not be read.")
        return PromptImport.objects.get(pk=import_id)
    if error_count:
        more = f" (the first {len(errors)} are listed)" if error_count > len(errors) else ""
        _fail(import_id, f"{error_count} bad line(s){more}; nothing was imported.", errors)
        return PromptImport.objects.get(pk=import_id)
    if not items:
        _fail(import_id, "The file holds no prompts.")
        return PromptImport.objects.get(pk=import_id)
    PromptImport.objects.filter(pk=import_id).update(status=ImportStatus.WRITING, processed_lines=imp.total_lines)
    for attempt in range(2):
        try:
            with transaction.atomic():
                created, skipped, candidates = _write(imp=imp, project=project, items=items)
                PromptImport.objects.filter(pk=import_id).update(
                    status=ImportStatus.DONE,
                    created_count=created,
                    skipped_count=skipped,
                    candidate_count=candidates,
                    message=f"{created} prompt(s) imported, {skipped} skipped as already present.",
                    finished_at=timezone.now(),
                )
            break
        except IntegrityError:
            # A concurrent import inserted some of the same prompts; dedupe against them and retry.
            if attempt:
                logger.exception("prompt import %s conflicted twice", import_id)
                _fail(import_id, "Another import of the same prompts ran at the same time; try again.")
                return PromptImport.objects.get(pk=import_id)
    Path(imp.file_path).unlink(missing_ok=True)
    return PromptImport.objects.get(pk=import_id)
