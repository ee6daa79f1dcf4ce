"""The options of an export, parsed and validated against allow-lists (pure: no ORM).

Every endpoint, the snapshot API and `manage.py export` go through `export_params_parse`, so a
value never reaches a query unless it was recognised here."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time

from labelhub.core.exceptions import ApplicationError
from labelhub.projects.rubric import TRACK_NAME

KINDS = ("sft", "preferences", "kto", "rankings")

FORMATS: dict[str, tuple[str, ...]] = {
    "sft": ("trl-messages", "trl-prompt-completion", "openai-chat"),
    "preferences": ("trl-preference", "trl-preference-implicit", "openai-dpo", "hh-rlhf"),
    "kto": ("trl-kto",),
    "rankings": ("labelhub",),
}
PAIRS = ("all", "adjacent", "best-vs-rest")
SPLITS = ("all", "train", "test")
REVIEW = ("not-rejected", "accepted", "any")
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

# consensus=majority needs several labels of the same comparison to vote on; a demonstration is not a vote.
CONSENSUS: dict[str, tuple[str, ...]] = {
    "sft": ("none",),
    "preferences": ("none", "majority"),
    "kto": ("none", "majority"),
    "rankings": ("none", "majority"),
}
# What consensus=majority does with an item only one labeler labeled (after filters): a majority of one.
# Said in the streamed response's NOTE_HEADER, in a snapshot's manifest ("notes", with the count
# "single_labeler_items") and in the README. ASCII: it travels in an HTTP header.
MAJORITY_SINGLE_LABELER_NOTE = (
    "consensus=majority: an item with a single labeler (after filters) is its own majority, 1 vote of 1, "
    "so its pairs and KTO verdicts pass unchanged. To keep only what several labelers agreed on, add "
    "metadata=true and keep rows whose metadata has labelers >= 2."
)
# Labels of held-out prompts (an evaluation set holds them) are left out of every export unless
# include_held_out=true; fix-it items' labels are always in. ASCII: it travels in an HTTP header.
HELD_OUT_INCLUDED_NOTE = (
    "include_held_out=true: labels of prompts held out for evaluation are included; a model trained on "
    "them can no longer be evaluated fairly on those sets."
)
HELD_OUT_LEFT_OUT = "held_out"  # the left_out reason of rows of held-out prompts
NOTE_HEADER = "X-Labelhub-Note"
COMMON = (
    "format",
    "guideline_version",
    "since",
    "until",
    "track",
    "labeler",
    "exclude_labeler",
    "split",
    "test_ratio",
    "consensus",
    "metadata",
    "review",
    "exclude_quarantined",
    "include_held_out",
)
EXTRA: dict[str, tuple[str, ...]] = {
    "sft": (),
    "preferences": ("pairs", "include_edits"),
    "kto": ("include_edits",),
    "rankings": ("pairs",),
}
DEFAULT_TEST_RATIO = 0.1


def allowed_keys(kind: str) -> tuple[str, ...]:
    return COMMON + EXTRA[kind]


@dataclass(frozen=True)
class ExportParams:
    kind: str
    format: str
    versions: tuple[int, ...] = ()  # exact guideline version numbers, or
    min_version: int | None = None  # guideline_version=>=N
    since: datetime | None = None  # label created_at >= since
    until: datetime | None = None  # label created_at < until
    tracks: tuple[str, ...] = ()
    labelers: tuple[str, ...] = ()  # user ids or usernames, resolved by the selector
    exclude_labelers: tuple[str, ...] = ()
    split: str = "all"
    test_ratio: float = DEFAULT_TEST_RATIO
    consensus: str = "none"
    metadata: bool = False
    review: str = "not-rejected"
    pairs: str = "all"
    include_edits: bool = False
    exclude_quarantined: bool = True
    include_held_out: bool = False
    labeler_ids: tuple[int, ...] = field(default=(), compare=False)
    exclude_labeler_ids: tuple[int, ...] = field(default=(), compare=False)

    def notes(self) -> list[str]:
        """What a reader of this export must know about how its rows were chosen."""
        notes = [MAJORITY_SINGLE_LABELER_NOTE] if self.consensus == "majority" else []
        return notes + ([HELD_OUT_INCLUDED_NOTE] if self.include_held_out else [])

    def as_query(self) -> dict[str, str]:
        """The options that differ from the defaults, as query-string values (for manifests and links)."""
        out = {"format": self.format}
        defaults = ExportParams(kind=self.kind, format=self.format)
        for key, value in asdict(self).items():
            if key in ("kind", "format", "labeler_ids", "exclude_labeler_ids") or value == getattr(defaults, key):
                continue
            if key == "versions":
                out["guideline_version"] = ",".join(map(str, value))
            elif key == "min_version":
                out["guideline_version"] = f">={value}"
            elif key in ("since", "until"):
                out[key] = value.isoformat()
            elif key in ("tracks", "labelers", "exclude_labelers"):
                out[{"tracks": "track", "labelers": "labeler", "exclude_labelers": "exclude_labeler"}[key]] = ",".join(
                    value
                )
            elif isinstance(value, bool):
                out[key] = "true" if value else "false"
            else:
                out[key] = str(value)
        return out


def _error(key: str, message: str, allowed=None) -> ApplicationError:
    extra: dict = {"fields": {key: [message]}}
    if allowed is not None:
        extra["allowed"] = list(allowed)
    return ApplicationError(f"{key}: {message}", extra=extra)


def _values(raw: dict[str, list[str]], key: str) -> list[str]:
    """All values of a key, from repeated keys and/or comma-separated lists, stripped, non-empty."""
    out = []
    for value in raw.get(key, []):
        out.extend(part.strip() for part in str(value).split(","))
    return [v for v in out if v]


def _one(raw: dict[str, list[str]], key: str) -> str | None:
    values = [str(v).strip() for v in raw.get(key, [])]
    if not values:
        return None
    if len(values) > 1:
        raise _error(key, "Give it once.")
    return values[0]


def _choice(raw, key: str, choices: tuple[str, ...], default: str) -> str:
    value = _one(raw, key)
    if value is None or value == "":
        return default
    if value not in choices:
        raise _error(key, f"Unknown value {value[:50]!r}; allowed: {', '.join(choices)}.", choices)
    return value


def _bool(raw, key: str, default: bool = False) -> bool:
    value = _one(raw, key)
    if value is None or value == "":
        return default
    if value.lower() not in BOOLEANS:
        raise _error(key, "true or false.", ("true", "false"))
    return BOOLEANS[value.lower()]


def _datetime(raw, key: str) -> datetime | None:
    value = _one(raw, key)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+", 1) if "T" in value else value)
    except ValueError as exc:
        raise _error(key, "An ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z.") from exc
    if len(value) == 10:  # a date: midnight UTC
        parsed = datetime.combine(parsed.date(), time.min)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # In UTC: Python takes any offset under 24 hours, PostgreSQL only up to ±15:59 (a larger one made
    # the export query fail, a 500 found by schemathesis); a date at the ends of the calendar may
    # not have a UTC equivalent at all.
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise _error(key, "A date-time between the years 1 and 9999 in UTC.") from exc


_VERSION = re.compile(r"(>=)?\s*([0-9]{1,6})", re.ASCII)  # fullmatch: ASCII digits only, no "\n" after


def _versions(raw) -> tuple[tuple[int, ...], int | None]:
    values = _values(raw, "guideline_version")
    if not values:
        return (), None
    exact, minimum = set(), None
    for value in values:
        match = _VERSION.fullmatch(value)
        if not match:
            raise _error("guideline_version", "A version number, several (2,3), or a lower bound (>=2).")
        if match.group(1):
            if minimum is not None or len(values) > 1:
                raise _error("guideline_version", "A lower bound (>=N) cannot be combined with other versions.")
            minimum = int(match.group(2))
        else:
            exact.add(int(match.group(2)))
    return tuple(sorted(exact)), minimum


def _tracks(raw, allowed: list[str] | None) -> tuple[str, ...]:
    """The track filter: names of the project's schemas' tracks (`allowed`; None: any track name)."""
    tracks = tuple(dict.fromkeys(_values(raw, "track")))
    bad = [t for t in tracks if (t not in allowed if allowed is not None else not TRACK_NAME.match(t))]
    if bad:
        if allowed is None:
            raise _error("track", f"Not a track name: {bad[0][:50]!r}.")
        raise _error("track", f"Unknown track {bad[0][:50]!r}; allowed: {', '.join(allowed)}.", allowed)
    return tracks


def export_params_parse(kind: str, raw: dict[str, list[str]], *, tracks: list[str] | None = None) -> ExportParams:
    """`raw` maps each key to its list of values (a QueryDict's lists(), or a JSON body normalised by
    `normalise_body`). Unknown keys and values are errors that list what is allowed. `tracks`: the
    track names of the project's labeling schemas (see selectors.export_tracks)."""
    if kind not in KINDS:
        raise _error("kind", f"Unknown export kind; allowed: {', '.join(KINDS)}.", KINDS)
    allowed = allowed_keys(kind)
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ApplicationError(
            f"Unknown parameter(s) for a {kind} export: {', '.join(k[:50] for k in unknown)}.",
            extra={"allowed": list(allowed)},
        )
    versions, min_version = _versions(raw)
    since, until = _datetime(raw, "since"), _datetime(raw, "until")
    if since and until and since >= until:
        raise _error("until", "Must be later than since.")
    track_names = _tracks(raw, tracks)
    labelers = tuple(dict.fromkeys(_values(raw, "labeler")))
    exclude = tuple(dict.fromkeys(_values(raw, "exclude_labeler")))
    if any(len(v) > 150 for v in labelers + exclude):
        raise _error("labeler", "A user id or username.")
    split = _choice(raw, "split", SPLITS, "all")
    ratio_raw = _one(raw, "test_ratio")
    test_ratio = DEFAULT_TEST_RATIO
    if ratio_raw not in (None, ""):
        try:
            test_ratio = float(ratio_raw)
        except ValueError as exc:
            raise _error("test_ratio", "A number between 0 and 1 (exclusive).") from exc
        if not 0 < test_ratio < 1:
            raise _error("test_ratio", "A number between 0 and 1 (exclusive).")
        if split == "all":
            raise _error("test_ratio", "Only with split=train or split=test.")
    return ExportParams(
        kind=kind,
        format=_choice(raw, "format", FORMATS[kind], FORMATS[kind][0]),
        versions=versions,
        min_version=min_version,
        since=since,
        until=until,
        tracks=track_names,
        labelers=labelers,
        exclude_labelers=exclude,
        split=split,
        test_ratio=test_ratio,
        consensus=_choice(raw, "consensus", CONSENSUS[kind], "none"),
        metadata=_bool(raw, "metadata"),
        review=_choice(raw, "review", REVIEW, "not-rejected"),
        pairs=_choice(raw, "pairs", PAIRS, "all") if "pairs" in allowed else "all",
        include_edits=_bool(raw, "include_edits") if "include_edits" in allowed else False,
        exclude_quarantined=_bool(raw, "exclude_quarantined", default=True),
        include_held_out=_bool(raw, "include_held_out"),
    )


def normalise_body(data: dict) -> dict[str, list[str]]:
    """A JSON body ({"track": ["helpful"], "metadata": true, …}) as the lists a query string gives."""
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        parts = []
        for v in values:
            if isinstance(v, bool):
                parts.append("true" if v else "false")
            elif isinstance(v, int | float | str):
                parts.append(str(v))
            else:
                raise _error(str(key)[:50], "A string, number, boolean or a list of them.")
        out[str(key)] = [",".join(parts)] if isinstance(value, list) else parts
    return out
