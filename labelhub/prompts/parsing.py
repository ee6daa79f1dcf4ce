"""Pure parsing and validation of prompt files (JSONL and CSV). No ORM here.

Every line becomes either a `ParsedPrompt` or a `LineError` with its 1-based line number, so an
import can report every bad line at once and write nothing.
"""

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from labelhub.core.text import unstorable_reason

ROLES = ("system", "user", "assistant")
ALLOWED_KEYS = ("prompt", "messages", "id", "tags", "track", "metadata", "candidates")
_ALLOWED_KEY_SET = frozenset(ALLOWED_KEYS)
CSV_COLUMNS = ("prompt", "id", "tags", "track", "metadata")
CANDIDATE_KEYS = ("content", "model")
MAX_ID_CHARS = 200
MAX_TAGS = 50
MAX_TAG_CHARS = 64
MAX_MESSAGES = 200
MAX_CANDIDATES = 20
MAX_METADATA_BYTES = 64 * 1024
MAX_DEPTH = 32


@dataclass(slots=True)
class ParsedPrompt:
    line: int
    messages: list[dict]
    external_id: str | None
    tags: list[str]
    track: str
    metadata: dict
    candidates: list[dict]
    content_hash: str
    text: str = field(default="")


@dataclass(slots=True, frozen=True)
class LineError:
    line: int
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "message": self.message}


# JSON escapes that decode to NUL or to a UTF-16 surrogate half.
_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89abcdefABCDEF][0-9a-fA-F]{2})")


class _Invalid(ValueError):
    pass


def _reject_constant(name: str):
    raise _Invalid(f"{name} is not valid JSON")


def content_hash(messages: list[dict]) -> str:
    """SHA-256 of the canonical JSON of the conversation: compact, UTF-8, keys content then role."""
    canonical = orjson.dumps([{"content": m["content"], "role": m["role"]} for m in messages])
    return hashlib.sha256(canonical).hexdigest()


def _depth(value, limit: int, depth: int = 0) -> int:
    if depth == 0 and isinstance(value, dict) and not any(isinstance(v, (dict, list)) for v in value.values()):
        return 1  # flat object: the common case
    if depth > limit:
        return depth
    if isinstance(value, dict):
        return max((_depth(v, limit, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_depth(v, limit, depth + 1) for v in value), default=depth + 1)
    return depth


def _check_strings(value, path: str, depth: int = 0) -> None:
    """Reject what PostgreSQL cannot store or what we refuse to store: NUL, lone surrogates, deep nesting."""
    if depth > MAX_DEPTH:
        raise _Invalid(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        reason = unstorable_reason(value)
        if reason:
            raise _Invalid(f"{path}: {reason}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k, f"{path} key", depth + 1)
            _check_strings(v, f"{path}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(v, f"{path}[{i}]", depth + 1)


def _nonempty_text(value, path: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{path} must be a string")
    if not value.strip():
        raise _Invalid(f"{path} is empty")
    return value


def validate_record(record, *, tracks: Iterable[str], default_track: str, raw: str | None = None) -> ParsedPrompt:
    """Validate one decoded record; raise _Invalid with a readable reason.

    `raw` is the JSON text the record came from: when it holds no escape that could decode to
    NUL or a surrogate, the walk over every string is skipped (the common, fast case)."""
    if not isinstance(record, dict):
        raise _Invalid("each line must be a JSON object")
    if not record.keys() <= _ALLOWED_KEY_SET:
        unknown = sorted(map(str, record.keys() - _ALLOWED_KEY_SET))
        raise _Invalid(f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(ALLOWED_KEYS)}")
    if raw is None or ("\\u" in raw and _RISKY_ESCAPE.search(raw)):
        _check_strings(record, "line")
    has_prompt, has_messages = "prompt" in record, "messages" in record
    if has_prompt == has_messages:
        raise _Invalid('give exactly one of "prompt" (a string) or "messages" (a list)')
    if has_prompt:
        messages = [{"role": "user", "content": _nonempty_text(record["prompt"], "prompt")}]
    else:
        raw = record["messages"]
        if not isinstance(raw, list) or not raw:
            raise _Invalid('"messages" must be a non-empty list')
        if len(raw) > MAX_MESSAGES:
            raise _Invalid(f'"messages" has more than {MAX_MESSAGES} messages')
        messages = []
        for i, msg in enumerate(raw):
            if not isinstance(msg, dict):
                raise _Invalid(f"messages[{i}] must be an object with role and content")
            extra = sorted(set(msg) - {"role", "content"})
            if extra:
                raise _Invalid(f"messages[{i}] has unknown key(s) {', '.join(map(repr, extra))}")
            role = msg.get("role")
            if role not in ROLES:
                raise _Invalid(f"messages[{i}].role {role!r} is unknown; use one of {', '.join(ROLES)}")
            messages.append({"role": role, "content": _nonempty_text(msg.get("content"), f"messages[{i}].content")})
        if messages[-1]["role"] != "user":
            raise _Invalid("the last message must be from the user")
        if any(m["role"] == "system" for m in messages[1:]):
            raise _Invalid("a system message may only come first")

    external_id = record.get("id")
    if external_id is not None:
        if isinstance(external_id, bool) or not isinstance(external_id, (str, int)):
            raise _Invalid('"id" must be a string or an integer')
        external_id = str(external_id)
        if not external_id.strip() or len(external_id) > MAX_ID_CHARS:
            raise _Invalid(f'"id" must have 1 to {MAX_ID_CHARS} characters')

    tags = record.get("tags", [])
    if tags is None:
        tags = []
    if not isinstance(tags, list) or any(not isinstance(t, str) for t in tags):
        raise _Invalid('"tags" must be a list of strings')
    tags = [t.strip() for t in tags]
    if len(tags) > MAX_TAGS:
        raise _Invalid(f'"tags" has more than {MAX_TAGS} tags')
    if any(not t or len(t) > MAX_TAG_CHARS for t in tags):
        raise _Invalid(f"each tag must have 1 to {MAX_TAG_CHARS} characters")
    tags = list(dict.fromkeys(tags))

    tracks = tuple(tracks)
    track = record.get("track", default_track)
    if track not in tracks:
        raise _Invalid(f'"track" {track!r} is not enabled in this project; use one of {", ".join(tracks)}')

    metadata = record.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise _Invalid('"metadata" must be a JSON object')
    if metadata:
        if _depth(metadata, MAX_DEPTH) > MAX_DEPTH:
            raise _Invalid(f'"metadata" is nested deeper than {MAX_DEPTH} levels')
        if (raw is None or len(raw) > MAX_METADATA_BYTES) and len(
            json.dumps(metadata, ensure_ascii=False).encode("utf-8")
        ) > MAX_METADATA_BYTES:
            raise _Invalid(f'"metadata" is larger than {MAX_METADATA_BYTES // 1024} KiB')

    candidates = record.get("candidates", [])
    if candidates is None:
        candidates = []
    if not isinstance(candidates, list):
        raise _Invalid('"candidates" must be a list of {"content", "model"} objects')
    if len(candidates) > MAX_CANDIDATES:
        raise _Invalid(f'"candidates" has more than {MAX_CANDIDATES} entries')
    clean_candidates = []
    for i, cand in enumerate(candidates):
        if not isinstance(cand, dict):
            raise _Invalid(f"candidates[{i}] must be an object")
        extra = sorted(set(cand) - set(CANDIDATE_KEYS))
        if extra:
            raise _Invalid(f"candidates[{i}] has unknown key(s) {', '.join(map(repr, extra))}")
        content = _nonempty_text(cand.get("content"), f"candidates[{i}].content")
        model = cand.get("model", "")
        if model is None:
            model = ""
        if not isinstance(model, str) or len(model) > 200:
            raise _Invalid(f"candidates[{i}].model must be a string of at most 200 characters")
        clean_candidates.append({"content": content, "model": model})

    return ParsedPrompt(
        line=0,
        messages=messages,
        external_id=external_id,
        tags=tags,
        track=track,
        metadata=metadata,
        candidates=clean_candidates,
        content_hash=content_hash(messages),
        text=messages[-1]["content"],
    )


def iter_lines(stream, *, max_line_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, raw line) from a binary stream; None for a line over the limit
    (which is consumed without being held in memory)."""
    number = 0
    while True:
        chunk = stream.readline(max_line_bytes + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(1 << 20)
            yield number, None
            continue
        yield number, chunk


def _parse_slow(raw: bytes) -> tuple[object, str | None, str | None]:
    """Returns (record, text, error). A record orjson refused may still parse here (a lone
    surrogate escape): validate_record then walks its strings (text=None) and names the problem."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, None, f"not valid UTF-8 (byte {exc.start})"
    try:
        return json.loads(text, parse_constant=_reject_constant), None, None
    except _Invalid as exc:
        return None, None, f"malformed JSON: {exc}"
    except RecursionError:
        return None, None, "malformed JSON: nested too deeply"
    except ValueError as exc:
        return None, None, f"malformed JSON: {exc}"


def parse_jsonl(
    stream, *, tracks: Iterable[str], default_track: str, max_line_bytes: int
) -> Iterator[ParsedPrompt | LineError]:
    tracks = tuple(tracks)
    for number, raw in iter_lines(stream, max_line_bytes=max_line_bytes):
        if raw is None:
            yield LineError(number, f"line is longer than {max_line_bytes} bytes")
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        if b"\x00" in raw:
            yield LineError(number, "contains a NUL byte")
            continue
        try:
            # orjson: fast, strict (UTF-8, no NaN, no lone surrogates, bounded depth).
            record = orjson.loads(raw)
            text = raw.decode("utf-8")
        except orjson.JSONDecodeError:
            # Slow path, bad lines only: the stdlib parser gives the precise reason.
            record, text, error = _parse_slow(raw)
            if error:
                yield LineError(number, error)
                continue
        try:
            parsed = validate_record(record, tracks=tracks, default_track=default_track, raw=text)
        except _Invalid as exc:
            yield LineError(number, str(exc))
            continue
        parsed.line = number
        yield parsed


def parse_csv(
    stream, *, tracks: Iterable[str], default_track: str, max_line_bytes: int
) -> Iterator[ParsedPrompt | LineError]:
    """CSV with a header row and a `prompt` column; optional id, tags (comma separated), track,
    metadata (a JSON object). Line numbers count the header as line 1."""
    tracks = tuple(tracks)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        reader = csv.DictReader(text, strict=True)
        header = reader.fieldnames or []
    except (UnicodeDecodeError, csv.Error) as exc:
        yield LineError(1, f"unreadable CSV header: {exc}")
        return
    if "prompt" not in header:
        yield LineError(1, 'the header has no "prompt" column')
        return
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        yield LineError(1, f"unknown column(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(CSV_COLUMNS)}")
        return
    csv.field_size_limit(max_line_bytes)
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            yield LineError(line, f"not valid UTF-8: {exc.reason}")
            return
        except csv.Error as exc:
            yield LineError(line, f"malformed CSV: {exc}")
            return
        if None in row:
            yield LineError(line, "more fields than header columns")
            continue
        if all(not (v or "").strip() for v in row.values()):
            continue
        record: dict = {"prompt": row.get("prompt") or ""}
        if (row.get("id") or "").strip():
            record["id"] = row["id"].strip()
        if (row.get("tags") or "").strip():
            record["tags"] = [t for t in (s.strip() for s in row["tags"].split(",")) if t]
        if (row.get("track") or "").strip():
            record["track"] = row["track"].strip()
        if (row.get("metadata") or "").strip():
            try:
                record["metadata"] = json.loads(row["metadata"], parse_constant=_reject_constant)
            except (ValueError, RecursionError) as exc:
                yield LineError(line, f"metadata is not valid JSON: {exc}")
                continue
        try:
            parsed = validate_record(record, tracks=tracks, default_track=default_track)
        except _Invalid as exc:
            yield LineError(line, str(exc))
            continue
        parsed.line = line
        yield parsed
