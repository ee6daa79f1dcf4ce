"""Reading labels for export: one ordered pass over a server-side cursor, candidates fetched per
batch of work items (no N+1), rows shaped by the pure writers in formats.py.

Memory stays flat: at most one batch of labels (settings.EXPORT_BATCH_LABELS) and its candidates
are held at a time. Order is deterministic: work item id, then label id."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from itertools import groupby

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import Q, TextField, Value

from labelhub.accounts.models import User
from labelhub.core.db import consistent_read
from labelhub.core.exceptions import ApplicationError, Forbidden, NotFound
from labelhub.core.ids import is_id, parse_id
from labelhub.core.streaming import iter_rows
from labelhub.labeling.models import Label, Quarantine, ReviewStatus, WorkItem
from labelhub.projects.models import GuidelineVersion, Project
from labelhub.projects.permissions import Capability
from labelhub.projects.rubric import Schema, schema_of
from labelhub.projects.selectors import ProjectAccess, project_access, project_schema
from labelhub.prompts.models import Candidate

from .formats import FIX_PURPOSE, CandidateRecord, LabelRecord, group_lines
from .params import HELD_OUT_LEFT_OUT, ExportParams, export_params_parse

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 16
FIRST_BATCH_LABELS = 100
# Written as the last line when an export fails midway: not JSON, so every JSONL reader stops on it.
ERROR_MARKER = b"#labelhub-export-error: the export failed midway; this file is incomplete\n"

# The export cursor reads the label table alone (so PostgreSQL walks the label_export_order index of
# this project, whatever other projects hold); work items and prompts come per batch, like candidates.
_FIELDS = (
    "id",
    "kind",
    "work_item_id",
    "user_id",
    "created_at",
    "guideline_version_id",
    "display_order",
    "ranks",
    "all_bad",
    "ratings",
    "flags",
    "safety",
    "strength",
    "rationale",
    "time_on_task_ms",
    "review_status",
    "content",
    "source_candidate_id",
    "original_content",
    "demo",
)
_JSON = (6, 7, 9, 10, 11)  # positions of JSON columns in _FIELDS


def export_access(*, user: User, project_id) -> ProjectAccess:
    """Exports are for project admins and engineers; to everyone else the project does not exist."""
    try:
        return project_access(user=user, project_id=project_id, capability=Capability.EXPORT)
    except Forbidden as exc:
        raise NotFound("Project not found.") from exc


def export_schemas(*, project: Project) -> dict[int, Schema]:
    """Guideline version number → the labeling schema its labels were made under (parsed once per
    distinct schema: `schema_of` is cached)."""
    rows = GuidelineVersion.objects.filter(project=project).values_list("number", "schema")
    return {number: schema_of(schema) for number, schema in rows}


def export_tracks(*, project: Project, schemas: dict[int, Schema] | None = None) -> list[tuple[str, str]]:
    """(name, label) of every track an export can filter on: the current schema's, then those only
    older guideline versions had (their labels can still be exported)."""
    schemas = export_schemas(project=project) if schemas is None else schemas
    # The current schema is the newest version's (project_schema), or the draft's before any is published.
    newest_first = [schemas[n] for n in sorted(schemas, reverse=True)] or [project_schema(project=project)]
    tracks: dict[str, str] = {}
    for schema in newest_first:
        for track in schema.tracks:
            tracks.setdefault(track.name, track.label)
    return list(tracks.items())


def export_params_for_project(*, project: Project, kind: str, raw: dict[str, list[str]]) -> ExportParams:
    """Parse the options, then check the ones that name things in the project (versions, tracks,
    labelers) and that the schemas in scope can give the kind asked for."""
    schemas = export_schemas(project=project)
    tracks = [name for name, _ in export_tracks(project=project, schemas=schemas)]
    params = export_params_parse(kind, raw, tracks=tracks)
    if params.versions:
        known = set(schemas)
        missing = [v for v in params.versions if v not in known]
        if missing:
            raise ApplicationError(
                f"guideline_version: the project has no version {missing[0]}.",
                extra={"allowed": sorted(known), "fields": {"guideline_version": ["Unknown version."]}},
            )
    _check_pairs(project, params, schemas)
    resolved = {}
    for key in ("labelers", "exclude_labelers"):
        values = getattr(params, key)
        if not values:
            resolved[key] = ()
            continue
        ids = {parse_id(v) for v in values if is_id(v)}  # "²" or "١٢" is a name (not found), not a 500
        names = {v for v in values if not is_id(v)}
        in_project = Q(memberships__project=project) | Q(pk__in=Label.objects.filter(project=project).values("user_id"))
        found = dict(
            User.objects.filter(Q(pk__in=ids) | Q(username__in=names)).filter(in_project).values_list("username", "pk")
        )
        by_id = set(found.values())
        unknown = [v for v in values if not (v in found or (is_id(v) and parse_id(v) in by_id))]
        if unknown:
            field_name = "labeler" if key == "labelers" else "exclude_labeler"
            raise ApplicationError(
                f"{field_name}: no labeler {unknown[0][:50]!r} in this project.",
                extra={"fields": {field_name: ["A user id or username of a project member."]}},
            )
        resolved[key] = tuple(sorted(by_id))
    return replace(params, labeler_ids=resolved["labelers"], exclude_labeler_ids=resolved["exclude_labelers"])


def _check_pairs(project: Project, params: ExportParams, schemas: dict[int, Schema]) -> None:
    """Preferences come from rankings: when no schema in scope ranks, say so (400) rather than
    answer with an empty file. A mix is fine: labels of a version without ranking give no pairs and
    are counted in `left_out`."""
    if params.kind != "preferences" or params.include_edits:
        return
    in_scope = [
        schema
        for number, schema in schemas.items()
        if (not params.versions or number in params.versions)
        and (params.min_version is None or number >= params.min_version)
    ]
    if not schemas:
        in_scope = [project_schema(project=project)]
    if in_scope and not any(schema.ranking for schema in in_scope):
        message = (
            "The labeling schema has no ranking, so there are no preference pairs; "
            "export rankings (every label's answers), kto or sft instead, or add include_edits."
        )
        raise ApplicationError(
            f"kind: {message}", extra={"fields": {"kind": [message]}, "allowed": ["sft", "kto", "rankings"]}
        )


def _kinds(params: ExportParams) -> list[str]:
    if params.kind == "sft":
        return ["demonstration"]
    if params.kind in ("preferences", "kto") and params.include_edits:
        return ["comparison", "demonstration"]
    return ["comparison"]


def labels_for_export(*, project: Project, params: ExportParams):
    """The labels an export reads, filtered in SQL on the label table alone (the track, a property of
    the prompt, is applied per batch), ordered by (work item, id)."""
    qs = Label.objects.filter(project=project, kind__in=_kinds(params))
    if params.review == "accepted":
        qs = qs.filter(review_status=ReviewStatus.ACCEPTED)
    elif params.review == "not-rejected":
        qs = qs.exclude(review_status=ReviewStatus.REJECTED)
    if params.versions or params.min_version is not None:
        versions = GuidelineVersion.objects.filter(project=project)
        versions = versions.filter(number__in=params.versions) if params.versions else versions
        if params.min_version is not None:
            versions = versions.filter(number__gte=params.min_version)
        qs = qs.filter(guideline_version_id__in=list(versions.values_list("pk", flat=True)))
    if params.since:
        qs = qs.filter(created_at__gte=params.since)
    if params.until:
        qs = qs.filter(created_at__lt=params.until)
    if params.labelers:
        qs = qs.filter(user_id__in=params.labeler_ids)
    if params.exclude_labelers:
        qs = qs.exclude(user_id__in=params.exclude_labeler_ids)
    if params.exclude_quarantined:
        qs = qs.exclude(user_id__in=Quarantine.objects.filter(project=project, active=True).values("user_id"))
    return qs.order_by("work_item_id", "id")


def split_bucket(content_hash: str) -> float:
    """Where a prompt falls in [0, 1): the same prompt (same conversation) always falls in the same
    place, so a prompt is never in both train and test."""
    digest = hashlib.sha256(b"labelhub-split\0" + content_hash.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _in_split(params: ExportParams, content_hash: str) -> bool:
    if params.split == "all":
        return True
    is_test = split_bucket(content_hash) < params.test_ratio
    return is_test if params.split == "test" else not is_test


def _decoded(row: tuple) -> tuple:
    """A label row from SQLite (JSON and times as text; PostgreSQL's driver decodes them)."""
    row = list(row)
    for i in _JSON:
        if isinstance(row[i], str | bytes):
            row[i] = orjson.loads(row[i])
    if isinstance(row[4], str):
        row[4] = datetime.fromisoformat(row[4]).replace(tzinfo=UTC)
    return tuple(row)


def _work_items(ids: list[int]) -> dict[int, tuple]:
    """work item id → (prompt id, external id, track, messages, content hash, candidate ids, held out,
    purpose, origin): read in the one query that joins the prompt (no statement of its own)."""
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.cursor.adapters.register_loader("jsonb", _orjson_loader())
            cursor.execute(
                "SELECT wi.id, p.id, p.external_id, p.track, p.messages, p.content_hash, wi.candidate_ids, "
                "p.held_out, wi.purpose, wi.origin "
                "FROM labeling_workitem wi JOIN prompts_prompt p ON p.id = wi.prompt_id "
                "WHERE wi.id = ANY(%s::bigint[])",
                ["{" + ",".join(map(str, ids)) + "}"],
            )
            return {row[0]: row[1:] for row in cursor.fetchall()}
    out = {}
    for start in range(0, len(ids), 5000):
        rows = WorkItem.objects.filter(pk__in=ids[start : start + 5000]).values_list(
            "pk", "prompt_id", "prompt__external_id", "prompt__track", "prompt__messages", "prompt__content_hash",
            "candidate_ids", "prompt__held_out", "purpose", "origin",
        )  # fmt: skip
        for pk, prompt_id, external_id, track, messages, content_hash, candidate_ids, *rest in rows:
            if isinstance(messages, str):
                messages = orjson.loads(messages)
            if isinstance(candidate_ids, str):
                candidate_ids = orjson.loads(candidate_ids)
            held_out, purpose, origin = rest
            if isinstance(origin, str):
                origin = orjson.loads(origin)
            out[pk] = (prompt_id, external_id, track, messages, content_hash, candidate_ids, held_out, purpose, origin)
    return out


def _records(rows: list[tuple], params: ExportParams, versions: dict[int, tuple[int, Schema]]) -> list[LabelRecord]:
    """Label rows joined (in Python) with their work items, prompts, guideline version numbers and
    schemas; the track filter applies here."""
    items = _work_items(sorted({row[2] for row in rows}))
    tracks = set(params.tracks)
    out = []
    for row in rows:
        item = items[row[2]]
        if tracks and item[2] not in tracks:
            continue
        out.append(LabelRecord(*row[:5], *versions[row[5]], *item[:6], *row[6:], *item[6:]))
    return out


@cache
def _orjson_loader():
    """A psycopg loader that decodes json/jsonb with orjson as the rows are read (Django's loader
    hands out text, which its JSONField then parses with the stdlib json module)."""
    from psycopg.adapt import Loader

    class OrjsonLoader(Loader):
        def load(self, data):
            return orjson.loads(data)

    return OrjsonLoader


# Fields of LabelRecord that a kind's writers (formats.py) never read: selected as NULL, so they are
# neither sent nor decoded nor held. A writer that starts reading one gets None and fails loudly.
_UNREAD: dict[str, frozenset[str]] = {
    "sft": frozenset({"display_order", "ranks", "ratings", "flags", "safety", "rationale"}),
    "preferences": frozenset({"display_order", "ratings", "flags", "safety", "rationale"}),
    "kto": frozenset({"display_order", "ranks", "rationale"}),
    "rankings": frozenset(),
}
_NULL = Value(None, output_field=TextField())  # SQL NULL (with a JSONField it would be JSON 'null')


def _unread(params: ExportParams) -> frozenset[str]:
    # The label's time is only written in metadata and rankings (and a timestamp costs a Python-level
    # parse per row in Django's loader).
    return _UNREAD[params.kind] | (frozenset() if _describes(params) else {"created_at"})


def _label_batches(qs, params: ExportParams) -> Iterator[list[LabelRecord]]:
    """The labels, one database round trip at a time: FIRST_BATCH_LABELS (so that the first bytes
    leave at once), then settings.EXPORT_BATCH_LABELS."""
    unread = _unread(params)
    columns = tuple(_NULL if f in unread else f for f in _FIELDS)
    if connection.vendor != "postgresql":
        batch, size = [], FIRST_BATCH_LABELS
        for row in iter_rows(qs, columns, batch=settings.EXPORT_BATCH_LABELS):
            batch.append(_decoded(row))
            if len(batch) >= size:
                yield batch
                batch, size = [], settings.EXPORT_BATCH_LABELS
        if batch:
            yield batch
        return
    # Not core.streaming.iter_rows: the first fetch is small, and the driver decodes JSON as the rows
    # arrive (orjson; no JSON text is held beside the values, no second pass over the rows).
    sql, sql_params = qs.values_list(*columns).query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.cursor.adapters.register_loader("jsonb", _orjson_loader())
        cursor.execute(sql, sql_params)
        size = FIRST_BATCH_LABELS
        while rows := cursor.fetchmany(size):
            size = settings.EXPORT_BATCH_LABELS
            yield rows
            rows = None  # the next fetch does not wait beside this batch


_CANDIDATE_FIELDS = ("id", "content", "source", "model_name", "model_config_id", "finish_reason", "provenance")


def _candidates(ids: set[int], *, describe: bool = True) -> dict[int, CandidateRecord]:
    """The candidates with these ids. Without `describe`, only id and content are read: the other
    fields of a CandidateRecord serve CandidateRecord.describe(), which the writers call only for
    metadata and rankings (see _describes); provenance is the bulk of a candidate row."""
    if not ids:
        return {}
    ids = sorted(ids)
    fields = _CANDIDATE_FIELDS if describe else ("id", "content")
    if connection.vendor == "postgresql":
        # One query with one array literal: an IN list of thousands of placeholders costs more to
        # build and parse (Django, psycopg) than the rows cost to read.
        with connection.cursor() as cursor:
            cursor.cursor.adapters.register_loader("jsonb", _orjson_loader())
            cursor.execute(
                f"SELECT {', '.join(fields)} FROM {Candidate._meta.db_table} WHERE id = ANY(%s::bigint[])",  # noqa: S608
                ["{" + ",".join(map(str, ids)) + "}"],
            )
            rows = cursor.fetchall()
    else:
        rows = [
            row
            for start in range(0, len(ids), 5000)
            for row in Candidate.objects.filter(pk__in=ids[start : start + 5000]).values_list(*fields)
        ]
    if not describe:
        return {cid: CandidateRecord(cid, content) for cid, content in rows}
    out = {}
    for row in rows:
        row = list(row)
        if isinstance(row[6], str | bytes):
            row[6] = orjson.loads(row[6])
        row[6] = _sorted_keys(row[6])
        out[row[0]] = CandidateRecord(*row)
    return out


def _describes(params: ExportParams) -> bool:
    """Whether the writers describe candidates (model, config, sampling): metadata rows and rankings."""
    return params.metadata or params.kind == "rankings"


def _sorted_keys(value):
    """Free-form JSON with its keys sorted: PostgreSQL's jsonb and SQLite store key order
    differently; exports are the same bytes on both."""
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


@dataclass
class ExportStats:
    rows: int = 0
    labels: int = 0  # labels that gave rows
    labels_read: int = 0  # every label read (progress)
    work_items: int = 0
    guideline_versions: set = field(default_factory=set)
    schemas: dict = field(default_factory=dict)  # guideline version number → Schema, of labels that gave rows
    labelers: set = field(default_factory=set)
    left_out: Counter = field(default_factory=Counter)  # rows the format cannot express, by reason
    # consensus=majority only: items that gave rows with one labeler, their own majority (params.notes()).
    single_labeler_items: int | None = None

    def as_dict(self) -> dict:
        single = {} if self.single_labeler_items is None else {"single_labeler_items": self.single_labeler_items}
        return {
            "rows": self.rows,
            **single,
            "left_out": dict(sorted(self.left_out.items())),
            "labels": self.labels,
            "labels_read": self.labels_read,
            "work_items": self.work_items,
            "labelers": len(self.labelers),
            "guideline_versions": sorted(self.guideline_versions),
        }

    def held_out_manifest(self, params: ExportParams) -> dict:
        """What the leak guard did: whether held-out prompts' labels were included, and how many
        rows it left out."""
        return {"included": params.include_held_out, "rows_left_out": self.left_out.get(HELD_OUT_LEFT_OUT, 0)}

    def schemas_manifest(self) -> list[dict]:
        """The labeling schemas the exported rows were labeled under, by guideline version."""
        return [
            {"guideline_version": number, "digest": schema.digest(), "schema": schema.as_dict()}
            for number, schema in sorted(self.schemas.items())
        ]


def export_lines(*, project: Project, params: ExportParams, stats: ExportStats | None = None) -> Iterator[bytes]:
    """Every line of the export, in order. Run it inside `consistent_read()` for one snapshot.

    A batch is what one round trip read, less its last work item (which may go on in the next one):
    it is written out before the next round trip, so one batch of labels and its candidates is all
    that is held."""
    stats = stats if stats is not None else ExportStats()
    if params.consensus == "majority":
        stats.single_labeler_items = stats.single_labeler_items or 0
    versions = {
        pk: (number, schema_of(schema))
        for pk, number, schema in GuidelineVersion.objects.filter(project=project).values_list("pk", "number", "schema")
    }
    pending: list[LabelRecord] = []
    for rows in _label_batches(labels_for_export(project=project, params=params), params):
        labels = _records(rows, params, versions)
        stats.labels_read += len(rows) - len(labels)  # other tracks: read, left out
        rows = None
        if not labels:
            continue
        labels = pending + labels if pending else labels
        last, cut = labels[-1].work_item_id, len(labels)
        while cut and labels[cut - 1].work_item_id == last:
            cut -= 1
        pending = labels[cut:]
        yield from _batch_lines(_groups(labels[:cut], params, stats), params, stats)
        labels = None  # released before the next round trip
    yield from _batch_lines(_groups(pending, params, stats), params, stats)


def _groups(labels: list[LabelRecord], params: ExportParams, stats: ExportStats) -> list[list[LabelRecord]]:
    """The labels (in work item order) by work item, the items outside the split left out."""
    groups = []
    for _item, group in groupby(labels, key=_work_item):
        group = list(group)
        stats.labels_read += len(group)
        if _in_split(params, group[0].content_hash):
            groups.append(group)
    return groups


def _work_item(label: LabelRecord) -> int:
    return label.work_item_id


def _held_out(group: list[LabelRecord], params: ExportParams) -> bool:
    """Whether the leak guard leaves the item out: its prompt is held out for evaluation, the export
    did not ask for include_held_out, and it is not a fix-it item (training data made on purpose)."""
    first = group[0]
    return first.held_out and not params.include_held_out and first.purpose != FIX_PURPOSE


def _batch_lines(batch: list[list[LabelRecord]], params: ExportParams, stats: ExportStats) -> Iterator[bytes]:
    if not batch:
        return
    ids: set[int] = set()
    for group in batch:
        ids.update(int(c) for c in group[0].candidate_ids)
        ids.update(label.source_candidate_id for label in group if label.source_candidate_id)
    candidates = _candidates(ids, describe=_describes(params))
    for group in batch:
        if _held_out(group, params):  # counted as the rows it would have given, like other left-out rows
            lines = group_lines(params.kind, params.format, group, candidates, params, Counter())
            stats.left_out[HELD_OUT_LEFT_OUT] += sum(1 for _ in lines)
            continue
        emitted = 0
        for line in group_lines(params.kind, params.format, group, candidates, params, stats.left_out):
            emitted += 1
            yield line
        if emitted:
            stats.rows += emitted
            stats.work_items += 1
            stats.labels += len(group)
            if params.consensus == "majority":
                stats.single_labeler_items += len(group) == 1
            for label in group:
                if label.guideline_version not in stats.schemas:
                    stats.schemas[label.guideline_version] = label.schema
                    stats.guideline_versions.add(label.guideline_version)
            stats.labelers.update(label.labeler_id for label in group)


def export_stream(*, project: Project, params: ExportParams, chunk_bytes: int | None = None) -> Iterator[bytes]:
    """The export as chunks of about `chunk_bytes`, read in one snapshot. A failure midway ends the
    stream with ERROR_MARKER and re-raises, so the server drops the connection (no final chunk)."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    stats = ExportStats()
    try:
        with consistent_read():
            buffer: list[bytes] = []
            size = 0
            for line in export_lines(project=project, params=params, stats=stats):
                buffer.append(line)
                size += len(line)
                if size >= chunk_bytes:
                    yield b"".join(buffer)
                    buffer, size = [], 0
            if buffer:
                yield b"".join(buffer)
        if stats.left_out:  # a stream has no room for counts (a snapshot's manifest has them)
            logger.warning("Export of project %s (%s) left out rows: %s", project.pk, params.kind, dict(stats.left_out))
    except GeneratorExit:  # the client went away: the transaction was rolled back, nothing to say
        raise
    except Exception:
        logger.exception("Export of project %s (%s) failed midway", project.pk, params.kind)
        yield ERROR_MARKER
        raise
