"""The labeling vocabulary: a project's labeling schema (its rubric) and the pure rules over it.

A schema is plain JSON stored beside the guidelines (the draft carries one, every published guideline
version freezes its own), so a label's guideline version is also its schema version. This module is the
only place that knows what a question is: it parses and validates a schema (`Schema.parse`), validates a
comparison submission against one (`Schema.validate_comparison`), says which questions a track shows and
whether it needs a safety verdict, derives the (better, worse) pairs of a ranking, checks a label against
a gold answer and decides KTO's desirable / undesirable. No database access; tested directly
(tests/projects/test_rubric.py).

Shape (see `PRESETS` for complete examples)::

    {"tracks": [{"name", "label", "description"}],
     "questions": [{"name", "type": scale|binary|choice|multi|text, "label", "description", "hint",
                    "required", "tracks": [names] | null (all), "key",
                    scale: "min", "max", "point_labels": {"1": "…"};  choice/multi: "options": [str];
                    text: "max_length"}],
     "ranking": {"enabled", "ties", "all_bad"},
     "strength": {"levels": [{"name", "label", "margin"}]}        (K = 2; [] = not asked),
     "safety": {"required_on": [track names], "enabled"},
     "rationale": {"required", "max_length"},
     "kto": {"undesirable_at_or_below": {scale: n}, "desirable_at_or_above": {scale: n},
             "undesirable_if": [binary | multi | choice question names]}}

Storage (labeling.models.Label): answers to per-candidate questions live in `Label.ratings`
({candidate id: {question: value}}), except the multi-select question named "flags", which keeps its own
column `Label.flags` ({candidate id: [option, …]}) as it had before schemas existed; `storage_columns` and
`answers_of` are the only two functions that know it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import orjson

from labelhub.core.text import unstorable_reason
from labelhub.projects.rubric_presets import PRESET_DATA

QUESTION_TYPES = ("scale", "binary", "choice", "multi", "text")
SAFETY_VERDICTS = ("safe", "unsafe")
FLAGS = "flags"  # the multi-select question stored in Label.flags (see the module doc)
# Keys the workbench uses for itself: answer selection and ranking digits, help, skip, edit, rank,
# preference strength, safe / unsafe, "all bad". A question's key is any other lowercase letter.
RESERVED_KEYS = frozenset("0123456789?kerpsub")
# Keys the workbench added later (g: go to answer N): never derived for a question, but still accepted
# when a schema gives one explicitly (stored versions that did stay valid; on the page the question wins).
WORKBENCH_KEYS = frozenset("g")
MAX_QUESTIONS = 16
MAX_TRACKS = 12
MAX_OPTIONS = 20
MAX_STRENGTH_LEVELS = 6
MAX_SCALE_POINTS = 11
MAX_TEXT = 2000
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
TRACK_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}\Z")


class SchemaInvalid(ValueError):
    """An invalid schema or submission: `fields` maps a path ("questions[2].max") to its messages."""

    def __init__(self, message: str, fields: dict[str, list[str]]):
        super().__init__(message)
        self.fields = fields


# --- the schema ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Track:
    name: str
    label: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Question:
    name: str
    type: str
    label: str
    key: str
    description: str = ""
    hint: str = ""
    required: bool = True
    tracks: tuple[str, ...] | None = None  # None: every track
    min: int | None = None
    max: int | None = None
    point_labels: dict[int, str] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    max_length: int = MAX_TEXT

    def applies_to(self, track: str) -> bool:
        return self.tracks is None or track in self.tracks

    def check(self, value) -> str | None:
        """Why `value` is not an answer to this question, or None."""
        if self.type == "scale":
            if isinstance(value, bool) or not isinstance(value, int) or not self.min <= value <= self.max:
                return f"an integer from {self.min} to {self.max}"
        elif self.type == "binary":
            if not isinstance(value, bool):
                return "true or false"
        elif self.type == "choice":
            if value not in self.options:
                return f"one of: {', '.join(self.options)}"
        elif self.type == "multi":
            if not isinstance(value, list) or any(v not in self.options for v in value):
                return f"a list drawn from: {', '.join(self.options)}"
        elif not isinstance(value, str) or len(value) > self.max_length or unstorable_reason(value):
            return f"text of at most {self.max_length:,} characters"
        return None

    def answered(self, value) -> bool:
        return value is not None and value != [] and value != ""

    def normalise(self, value):
        if self.type == "multi":
            return sorted(set(value))
        if self.type == "text":
            return value.strip()
        return value

    def as_dict(self) -> dict:
        data = {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "description": self.description,
            "hint": self.hint,
            "required": self.required,
            "tracks": list(self.tracks) if self.tracks is not None else None,
            "key": self.key,
        }
        if self.type == "scale":
            data |= {
                "min": self.min,
                "max": self.max,
                "point_labels": {str(k): v for k, v in self.point_labels.items()},
            }
        elif self.type in ("choice", "multi"):
            data["options"] = list(self.options)
        elif self.type == "text":
            data["max_length"] = self.max_length
        return data


@dataclass(frozen=True, slots=True)
class StrengthLevel:
    name: str
    label: str
    margin: int


@dataclass(frozen=True, slots=True)
class KtoRule:
    undesirable_at_or_below: dict[str, int]
    desirable_at_or_above: dict[str, int]
    undesirable_if: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    """A validated comparison submission (see Schema.validate_comparison)."""

    ranks: dict[str, int]
    all_bad: bool
    answers: dict[str, dict]
    strength: str
    safety: dict[str, str]
    rationale: str

    def label_fields(self) -> dict:
        """The Label columns this submission fills."""
        return {
            "ranks": self.ranks,
            "all_bad": self.all_bad,
            **storage_columns(self.answers),
            "strength": self.strength,
            "safety": self.safety,
            "rationale": self.rationale,
        }


@dataclass(frozen=True, slots=True)
class Schema:
    tracks: tuple[Track, ...]
    questions: tuple[Question, ...]
    ranking: bool = True
    ties: bool = True
    all_bad: bool = True
    strength_levels: tuple[StrengthLevel, ...] = ()
    safety_enabled: bool = True
    safety_required_on: frozenset[str] = frozenset()
    rationale_required: bool = False
    rationale_max_length: int = MAX_TEXT
    kto: KtoRule = KtoRule({}, {}, ())

    # -- reading it

    @property
    def track_names(self) -> list[str]:
        return [t.name for t in self.tracks]

    def question(self, name: str) -> Question | None:
        return next((q for q in self.questions if q.name == name), None)

    def questions_for(self, track: str) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.applies_to(track))

    def scales(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.type == "scale")

    def needs_safety(self, track: str) -> bool:
        return self.safety_enabled and track in self.safety_required_on

    def strength_margin(self, name: str) -> int | None:
        return next((s.margin for s in self.strength_levels if s.name == name), None)

    def strength_names(self) -> list[str]:
        return [s.name for s in self.strength_levels]

    def asks_strength(self, k: int) -> bool:
        return self.ranking and k == 2 and bool(self.strength_levels)

    # -- writing it

    def as_dict(self) -> dict:
        """The canonical JSON form (derived keys filled in): what is stored and what clients read."""
        return {
            "tracks": [{"name": t.name, "label": t.label, "description": t.description} for t in self.tracks],
            "questions": [q.as_dict() for q in self.questions],
            "ranking": {"enabled": self.ranking, "ties": self.ties, "all_bad": self.all_bad},
            "strength": {
                "levels": [{"name": s.name, "label": s.label, "margin": s.margin} for s in self.strength_levels]
            },
            "safety": {"enabled": self.safety_enabled, "required_on": sorted(self.safety_required_on)},
            "rationale": {"required": self.rationale_required, "max_length": self.rationale_max_length},
            "kto": {
                "undesirable_at_or_below": dict(self.kto.undesirable_at_or_below),
                "desirable_at_or_above": dict(self.kto.desirable_at_or_above),
                "undesirable_if": list(self.kto.undesirable_if),
            },
        }

    @classmethod
    def parse(cls, data) -> Schema:
        """A Schema from its JSON form, or SchemaInvalid naming every problem."""
        return _Parser(data).schema()

    # -- the rules

    def validate_comparison(self, *, candidate_ids: list, track: str, payload) -> Comparison:
        """Check a comparison submission against this schema: SchemaInvalid names each question that
        is unknown, out of range or missing. Accepts `answers` ({candidate: {question: value}}) and,
        for clients written before schemas, `ratings` (the same shape) and `flags` ({candidate: [..]})."""
        return _SubmissionCheck(self, [str(c) for c in candidate_ids], track, payload).result()

    def kto_verdict(self, *, answers: dict, safety: str | None, all_bad: bool) -> bool | None:
        """True (desirable), False (undesirable) or None (ambiguous) for one candidate's answers."""
        if all_bad or safety == "unsafe":
            return False
        rule = self.kto  # plain loops with early returns: exports call this once per candidate
        for name in rule.undesirable_if:
            if _ticked(answers.get(name)):
                return False
        rated = False
        for name, limit in rule.undesirable_at_or_below.items():
            value = answers.get(name)
            if isinstance(value, int):
                if value <= limit:
                    return False
                rated = True
        if not rated or not rule.desirable_at_or_above:
            return None
        for name, limit in rule.desirable_at_or_above.items():
            value = answers.get(name)
            if not isinstance(value, int) or value < limit:
                return None
        return True

    def digest(self) -> str:
        """A short stable fingerprint (two versions with equal digests ask the same questions)."""
        import hashlib

        return hashlib.sha256(orjson.dumps(self.as_dict(), option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def _ticked(value) -> bool:
    return value is True or (isinstance(value, list) and bool(value)) or (isinstance(value, str) and bool(value))


@lru_cache(maxsize=256)
def _parse_cached(raw: bytes) -> Schema:
    return Schema.parse(orjson.loads(raw))


def schema_of(data: dict | None) -> Schema:
    """The Schema of a stored JSON form (a guideline version's or draft's), parsed once per process:
    published versions are immutable, so equal JSON is the same schema. None → the HHH preset."""
    if not data:
        return HHH
    return _parse_cached(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))


# --- storage -----------------------------------------------------------------------------------------


def storage_columns(answers: dict[str, dict]) -> dict:
    """{candidate: {question: value}} → the Label columns `ratings` and `flags` (see the module doc)."""
    ratings: dict[str, dict] = {}
    flags: dict[str, list] = {}
    for cid, values in answers.items():
        rest = {name: value for name, value in values.items() if name != FLAGS}
        if rest:
            ratings[cid] = rest
        if values.get(FLAGS):
            flags[cid] = values[FLAGS]
    return {"ratings": ratings, "flags": flags}


def answers_of(ratings: dict | None, flags: dict | None, cid: str) -> dict:
    """One candidate's answers, by question name, from the Label columns."""
    answers = dict((ratings or {}).get(cid) or {})
    ticked = (flags or {}).get(cid)
    if ticked:
        answers[FLAGS] = ticked
    return answers


# --- rankings and gold -------------------------------------------------------------------------------


def ranking_pairs(ranks: dict, mode: str = "all") -> list[tuple[str, str]]:
    """(better, worse) candidate-id pairs from a ranking (1 = best); ties never form a pair.
    mode: all (every pair of different ranks), adjacent (neighbouring rank levels), best-vs-rest.
    Deterministic: by rank level, then by candidate id."""
    levels: dict[int, list[str]] = {}
    for cid, rank in ranks.items():
        levels.setdefault(rank, []).append(str(cid))
    order = sorted(levels)
    for ids in levels.values():
        ids.sort(key=lambda c: (len(c), c))
    if len(order) < 2:
        return []
    if mode == "adjacent":
        steps = [(order[i], [order[i + 1]]) for i in range(len(order) - 1)]
    elif mode == "best-vs-rest":
        steps = [(order[0], order[1:])]
    else:
        steps = [(order[i], order[i + 1 :]) for i in range(len(order) - 1)]
    return [
        (a, b)
        for better, worse_levels in steps
        for worse in worse_levels
        for a in levels[better]
        for b in levels[worse]
    ]


def gold_misses(expected: dict, *, ranks: dict, answers: dict[str, dict], all_bad: bool) -> list[str]:
    """What a label got wrong against a gold answer (empty: correct). `expected` holds any of
    `all_bad` (bool), `pairs` ([[better, worse], …]: each must be ranked in that order),
    `flags` ({candidate: [option, …]}: each must be ticked) and `answers`
    ({candidate: {question: value}}: a scale within ±`tolerance` (default 0), anything else equal)."""
    misses = []
    if expected.get("all_bad") is not None and bool(all_bad) != expected["all_bad"]:
        misses.append("all_bad")
    for better, worse in expected.get("pairs") or []:
        if all_bad or better not in ranks or worse not in ranks or not ranks[better] < ranks[worse]:
            misses.append(f"pair {better}>{worse}")
    for cid, wanted in (expected.get("flags") or {}).items():
        if not set(wanted) <= set((answers.get(cid) or {}).get(FLAGS) or []):
            misses.append(f"{cid}.{FLAGS}")
    tolerance = expected.get("tolerance") or 0
    for cid, wanted in (expected.get("answers") or {}).items():
        given = answers.get(cid) or {}
        for name, value in wanted.items():
            got = given.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and isinstance(got, int):
                ok = abs(got - value) <= tolerance
            elif isinstance(value, list):
                ok = set(value) <= set(got or [])
            else:
                ok = got == value
            if not ok:
                misses.append(f"{cid}.{name}")
    return misses


# --- parsing a schema --------------------------------------------------------------------------------

_TOP_KEYS = {"tracks", "questions", "ranking", "strength", "safety", "rationale", "kto"}
_QUESTION_KEYS = {
    "name", "type", "label", "description", "hint", "required", "tracks", "key",
    "min", "max", "point_labels", "options", "max_length",
}  # fmt: skip


class _Parser:
    def __init__(self, data):
        self.data = data
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def schema(self) -> Schema:
        data = self.data
        if not isinstance(data, dict):
            raise SchemaInvalid("A labeling schema is a JSON object.", {"schema": ["A JSON object."]})
        for key in sorted(set(data) - _TOP_KEYS):
            self.fail(key, f"Unknown key; allowed: {', '.join(sorted(_TOP_KEYS))}.")
        tracks = self.tracks(data.get("tracks"))
        names = {t.name for t in tracks}
        questions = self.questions(data.get("questions"), names)
        ranking = self._object(data.get("ranking"), "ranking", {"enabled", "ties", "all_bad"})
        strength = self.strength(data.get("strength"))
        safety = self._object(data.get("safety"), "safety", {"enabled", "required_on"})
        rationale = self._object(data.get("rationale"), "rationale", {"required", "max_length"})
        required_on = self._names(safety.get("required_on", []), "safety.required_on", names, "track")
        schema = Schema(
            tracks=tracks,
            questions=questions,
            ranking=self._bool(ranking, "enabled", True, "ranking"),
            ties=self._bool(ranking, "ties", True, "ranking"),
            all_bad=self._bool(ranking, "all_bad", True, "ranking"),
            strength_levels=strength,
            safety_enabled=self._bool(safety, "enabled", True, "safety"),
            safety_required_on=frozenset(required_on),
            rationale_required=self._bool(rationale, "required", False, "rationale"),
            rationale_max_length=self._int(rationale, "max_length", MAX_TEXT, "rationale", 1, 20_000),
            kto=self.kto(data.get("kto"), questions),
        )
        self.whole(schema)
        if self.errors:
            raise SchemaInvalid("The labeling schema is invalid.", self.errors)
        return schema

    # -- sections

    def tracks(self, raw) -> tuple[Track, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail("tracks", "A non-empty list of tracks.")
            return ()
        if len(raw) > MAX_TRACKS:
            self.fail("tracks", f"At most {MAX_TRACKS} tracks.")
        tracks, seen = [], set()
        for i, entry in enumerate(raw[:MAX_TRACKS]):
            path = f"tracks[{i}]"
            entry = self._object(entry, path, {"name", "label", "description"})
            name = entry.get("name")
            if not isinstance(name, str) or not TRACK_NAME.match(name):
                self.fail(f"{path}.name", "Lowercase letters, digits, - and _, starting with a letter (≤ 40).")
                continue
            if name in seen:
                self.fail(f"{path}.name", f"Duplicate track name {name!r}.")
            seen.add(name)
            label = self._text(entry, "label", path, 80) or name.replace("-", " ").replace("_", " ").capitalize()
            tracks.append(Track(name, label, self._text(entry, "description", path, 500)))
        return tuple(tracks)

    def questions(self, raw, track_names: set[str]) -> tuple[Question, ...]:
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            self.fail("questions", "A list of questions.")
            return ()
        if len(raw) > MAX_QUESTIONS:
            self.fail("questions", f"At most {MAX_QUESTIONS} questions.")
        parsed = [
            (i, self.question(entry, f"questions[{i}]", track_names)) for i, entry in enumerate(raw[:MAX_QUESTIONS])
        ]
        parsed = [(i, q) for i, q in parsed if q is not None]
        seen: set[str] = set()
        for i, q in parsed:
            if q["name"] in seen:
                self.fail(f"questions[{i}].name", f"Duplicate question name {q['name']!r}.")
            seen.add(q["name"])
        return tuple(Question(**q) for q in _assign_keys(parsed, self.fail))

    def question(self, entry, path: str, track_names: set[str]) -> dict | None:
        entry = self._object(entry, path, _QUESTION_KEYS)
        name, kind = entry.get("name"), entry.get("type")
        if not isinstance(name, str) or not NAME.match(name):
            self.fail(f"{path}.name", "An identifier: lowercase letters, digits and _, starting with a letter (≤ 40).")
            return None
        if kind not in QUESTION_TYPES:
            self.fail(f"{path}.type", f"One of: {', '.join(QUESTION_TYPES)}.")
            return None
        q = {
            "name": name,
            "type": kind,
            "label": self._text(entry, "label", path, 80) or name.replace("_", " ").capitalize(),
            "description": self._text(entry, "description", path, 1000),
            "hint": self._text(entry, "hint", path, 200),
            "required": self._bool(entry, "required", kind == "scale", path),
            "key": entry.get("key") or "",
        }
        if "\n" in q["hint"]:
            self.fail(f"{path}.hint", "One line.")
        tracks = entry.get("tracks")
        q["tracks"] = None if tracks is None else tuple(self._names(tracks, f"{path}.tracks", track_names, "track"))
        if kind == "scale":
            q |= self.scale(entry, path)
        elif kind in ("choice", "multi"):
            q["options"] = self.options(entry.get("options"), f"{path}.options")
        elif kind == "text":
            q["max_length"] = self._int(entry, "max_length", MAX_TEXT, path, 1, 20_000)
        for key in ("min", "max", "point_labels") if kind != "scale" else ():
            if key in entry:
                self.fail(f"{path}.{key}", f"Only for scale questions, not {kind}.")
        if "options" in entry and kind not in ("choice", "multi"):
            self.fail(f"{path}.options", f"Only for choice and multi questions, not {kind}.")
        return q

    def scale(self, entry: dict, path: str) -> dict:
        low, high = entry.get("min"), entry.get("max")
        if not _is_int(low) or not _is_int(high):
            self.fail(f"{path}.min", "A scale needs integer min and max.")
            return {"min": 1, "max": 2, "point_labels": {}}
        if low >= high:
            self.fail(f"{path}.max", f"max ({high}) must be greater than min ({low}).")
        elif low < 0 or high > 10 or high - low + 1 > MAX_SCALE_POINTS:
            self.fail(f"{path}.max", "A scale runs within 0..10 (one key per point on the workbench).")
        labels = entry.get("point_labels") or {}
        points = {}
        if not isinstance(labels, dict):
            self.fail(f"{path}.point_labels", "An object: point → label.")
            labels = {}
        for point, text in labels.items():
            value = int(point) if isinstance(point, str) and point.lstrip("-").isdigit() else None
            if value is None or not low <= value <= high or not isinstance(text, str) or len(text) > 80:
                self.fail(f"{path}.point_labels", f"Points from {low} to {high}, each a label of ≤ 80 characters.")
                break
            points[value] = text.strip()
        return {"min": low, "max": high, "point_labels": dict(sorted(points.items()))}

    def options(self, raw, path: str) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw or len(raw) > MAX_OPTIONS:
            self.fail(path, f"A list of 1 to {MAX_OPTIONS} options.")
            return ()
        if any(not isinstance(o, str) or not o.strip() or len(o) > 80 for o in raw):
            self.fail(path, "Options are non-empty text of ≤ 80 characters.")
            return ()
        options = [o.strip() for o in raw]
        if len(set(options)) != len(options):
            self.fail(path, "Options must differ.")
        return tuple(options)

    def strength(self, raw) -> tuple[StrengthLevel, ...]:
        raw = self._object(raw, "strength", {"levels"})
        levels = raw.get("levels", [])
        if not isinstance(levels, list) or len(levels) > MAX_STRENGTH_LEVELS:
            self.fail("strength.levels", f"A list of at most {MAX_STRENGTH_LEVELS} levels.")
            return ()
        out, seen = [], set()
        for i, entry in enumerate(levels):
            path = f"strength.levels[{i}]"
            entry = self._object(entry, path, {"name", "label", "margin"})
            name = entry.get("name")
            if not isinstance(name, str) or not NAME.match(name) or name in seen:
                self.fail(f"{path}.name", "A unique identifier (lowercase letters, digits, _).")
                continue
            seen.add(name)
            margin = self._int(entry, "margin", 0, path, 0, 100)
            out.append(
                StrengthLevel(name, self._text(entry, "label", path, 80) or name.replace("_", " ").capitalize(), margin)
            )
        if len(out) == 1:
            self.fail("strength.levels", "Two or more levels, or none (strength not asked).")
        return tuple(out)

    def kto(self, raw, questions: tuple[Question, ...]) -> KtoRule:
        raw = self._object(raw, "kto", {"undesirable_at_or_below", "desirable_at_or_above", "undesirable_if"})
        by_name = {q.name: q for q in questions}
        thresholds = []
        for key in ("undesirable_at_or_below", "desirable_at_or_above"):
            values = raw.get(key, {})
            if not isinstance(values, dict):
                self.fail(f"kto.{key}", "An object: scale question → threshold.")
                values = {}
            for name, value in values.items():
                q = by_name.get(name)
                if q is None or q.type != "scale":
                    self.fail(f"kto.{key}", f"{name!r} is not a scale question of this schema.")
                elif not _is_int(value) or not q.min <= value <= q.max:
                    self.fail(f"kto.{key}", f"{name}: a point of its scale ({q.min}..{q.max}).")
            thresholds.append({k: v for k, v in values.items() if k in by_name})
        flags = self._names(raw.get("undesirable_if", []), "kto.undesirable_if", set(by_name), "question")
        for name in flags:
            if by_name[name].type not in ("binary", "multi", "choice"):
                self.fail("kto.undesirable_if", f"{name!r}: only binary, multi or choice questions mark an answer bad.")
        low, high = thresholds
        for name in set(low) & set(high):
            if low[name] >= high[name]:
                self.fail("kto", f"{name}: the undesirable threshold must be below the desirable one.")
        return KtoRule(low, high, tuple(flags))

    def whole(self, schema: Schema) -> None:
        """Rules across sections: every required question shows on some track; something is asked."""
        names = set(schema.track_names)
        for i, q in enumerate(schema.questions):
            if q.required and q.tracks is not None and not set(q.tracks) & names:
                self.fail(f"questions[{i}].tracks", f"{q.name!r} is required but no track shows it.")
        if not schema.ranking and not schema.questions:
            self.fail("questions", "With the ranking off, ask at least one question.")

    # -- small readers

    def _object(self, raw, path: str, allowed: set[str]) -> dict:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.fail(path, "A JSON object.")
            return {}
        for key in sorted(set(raw) - allowed):
            self.fail(f"{path}.{key}", f"Unknown key; allowed: {', '.join(sorted(allowed))}.")
        return raw

    def _bool(self, raw: dict, key: str, default: bool, path: str) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{path}.{key}", "true or false.")
            return default
        return value

    def _int(self, raw: dict, key: str, default: int, path: str, low: int, high: int) -> int:
        value = raw.get(key, default)
        if not _is_int(value) or not low <= value <= high:
            self.fail(f"{path}.{key}", f"An integer from {low} to {high:,}.")
            return default
        return value

    def _text(self, raw: dict, key: str, path: str, limit: int) -> str:
        value = raw.get(key, "")
        if value is None:
            return ""
        if not isinstance(value, str) or len(value) > limit:
            self.fail(f"{path}.{key}", f"Text of at most {limit} characters.")
            return ""
        return value.strip()

    def _names(self, raw, path: str, known: set[str], what: str) -> list[str]:
        if not isinstance(raw, list) or any(not isinstance(n, str) for n in raw):
            self.fail(path, f"A list of {what} names.")
            return []
        unknown = [n for n in raw if n not in known]
        if unknown:
            self.fail(path, f"Unknown {what}(s): {', '.join(unknown)}.")
        return list(dict.fromkeys(n for n in raw if n in known))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _assign_keys(questions: list[tuple[int, dict]], fail) -> list[dict]:
    """Every question gets one keyboard key: the one given (checked), else the first free letter of its
    name, then of its label, then of the alphabet."""
    used: dict[str, str] = {}
    for i, q in questions:
        key = q["key"]
        if not key:
            continue
        if not isinstance(key, str) or len(key) != 1 or not key.isalpha() or not key.islower():
            fail(f"questions[{i}].key", "One lowercase letter.")
        elif key in RESERVED_KEYS:
            fail(f"questions[{i}].key", f"{key!r} is taken by the workbench ({', '.join(sorted(RESERVED_KEYS))}).")
        elif key in used:
            fail(f"questions[{i}].key", f"{key!r} is already the key of {used[key]!r}.")
        else:
            used[key] = q["name"]
            continue
        q["key"] = ""
    free = [c for c in "abcdefghijklmnopqrstuvwxyz" if c not in RESERVED_KEYS | WORKBENCH_KEYS]
    questions = [q for _, q in questions]
    for q in questions:
        if q["key"]:
            continue
        wanted = [c for c in (q["name"] + q["label"].lower()) if c in free] + free
        q["key"] = next((c for c in wanted if c not in used), "")
        if q["key"]:
            used[q["key"]] = q["name"]
    return questions


# --- validating a submission -------------------------------------------------------------------------


class _SubmissionCheck:
    ALLOWED = {"ranks", "all_bad", "answers", "ratings", "flags", "strength", "safety", "rationale"}

    def __init__(self, schema: Schema, ids: list[str], track: str, payload):
        self.schema, self.ids, self.track, self.payload = schema, ids, track, payload
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def result(self) -> Comparison:
        payload = self.payload
        if not isinstance(payload, dict):
            raise SchemaInvalid("A ranking is a JSON object.", {"body": ["A JSON object."]})
        unknown = set(payload) - self.ALLOWED
        if unknown:
            raise SchemaInvalid(
                f"Unknown field(s): {', '.join(sorted(unknown))}.", {k: ["Unknown field."] for k in sorted(unknown)}
            )
        all_bad = payload.get("all_bad", False)
        if not isinstance(all_bad, bool) or (all_bad and not self.schema.all_bad):
            self.fail("all_bad", "true or false." if self.schema.all_bad else "This schema has no “all bad”.")
            all_bad = False
        ranks = self.ranks(payload.get("ranks"), all_bad)
        answers = self.answers()
        strength = self.strength(payload.get("strength"), ranks, all_bad)
        safety = self.safety(payload.get("safety"))
        rationale = self.rationale(payload.get("rationale"))
        if self.errors:
            raise SchemaInvalid("The ranking is incomplete or invalid.", self.errors)
        return Comparison(ranks, all_bad, answers, strength, safety, rationale)

    def _by_candidate(self, raw, name: str) -> dict:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.fail(name, "An object keyed by candidate id.")
            return {}
        out = {str(key): value for key, value in raw.items()}
        stray = [cid for cid in out if cid not in self.ids]
        if stray:
            self.fail(name, f"Not a candidate of this task: {', '.join(stray)}.")
        return {cid: value for cid, value in out.items() if cid in self.ids}

    def ranks(self, raw, all_bad: bool) -> dict:
        ranks = self._by_candidate(raw, "ranks")
        k = len(self.ids)
        if not self.schema.ranking:
            if ranks:
                self.fail("ranks", "This schema has no ranking.")
            return {}
        if all_bad and not ranks:
            return {}
        if set(ranks) != set(self.ids):
            self.fail("ranks", f"Rank every candidate: {', '.join(self.ids)}.")
        elif any(not _is_int(r) or not 1 <= r <= k for r in ranks.values()):
            self.fail("ranks", f"Ranks are integers from 1 to {k}.")
        elif not self.schema.ties and len(set(ranks.values())) < k:
            self.fail("ranks", "Ties are not allowed in this project.")
        return ranks

    def answers(self) -> dict[str, dict]:
        merged: dict[str, dict] = {cid: {} for cid in self.ids}
        for source in ("answers", "ratings"):
            for cid, values in self._by_candidate(self.payload.get(source), source).items():
                if not isinstance(values, dict):
                    self.fail(source, f"Candidate {cid}: an object, question → answer.")
                    continue
                for name, value in values.items():
                    if name in merged[cid] and merged[cid][name] != value:
                        self.fail(f"{cid}.{name}", "Given twice with different values.")
                    merged[cid][name] = value
        for cid, ticked in self._by_candidate(self.payload.get(FLAGS), FLAGS).items():
            merged[cid].setdefault(FLAGS, ticked)
        asked = {q.name: q for q in self.schema.questions_for(self.track)}
        out: dict[str, dict] = {}
        for cid in self.ids:
            out[cid] = self.candidate_answers(cid, merged[cid], asked)
        return {cid: values for cid, values in out.items() if values}

    def candidate_answers(self, cid: str, given: dict, asked: dict[str, Question]) -> dict:
        values = {}
        for name, value in given.items():
            q = asked.get(name)
            if q is None:
                known = self.schema.question(name) is not None
                self.fail(name, "Not asked on this track." if known else "Unknown question.")
                continue
            problem = q.check(value)
            if problem:
                self.fail(name, f"Candidate {cid}: {problem}.")
            elif q.answered(value):
                values[name] = q.normalise(value)
        for name, q in asked.items():
            if q.required and name not in values and name not in self.errors:
                self.fail(name, f"Required: answer {q.label!r} for every candidate ({cid} is missing).")
        return values

    def strength(self, raw, ranks: dict, all_bad: bool) -> str:
        raw = raw or ""
        k = len(self.ids)
        if raw and (not self.schema.asks_strength(k) or raw not in self.schema.strength_names()):
            names = ", ".join(self.schema.strength_names()) or "none in this schema"
            self.fail("strength", f"Only for two candidates; one of {names}.")
            return ""
        decided = not all_bad and len(set(ranks.values())) == 2 and "ranks" not in self.errors
        if self.schema.asks_strength(k) and decided and not raw:
            self.fail("strength", "Say how much better the preferred answer is.")
        return raw

    def safety(self, raw) -> dict:
        safety = self._by_candidate(raw, "safety")
        bad = any(v not in SAFETY_VERDICTS for v in safety.values())
        if self.schema.needs_safety(self.track):
            if set(safety) != set(self.ids) or bad:
                self.fail("safety", "Give every candidate a safety verdict: safe or unsafe.")
        elif safety and (bad or not self.schema.safety_enabled):
            self.fail("safety", "safe or unsafe, per candidate." if self.schema.safety_enabled else "Not asked.")
        return safety

    def rationale(self, raw) -> str:
        raw = raw or ""
        limit = self.schema.rationale_max_length
        if not isinstance(raw, str) or len(raw) > limit or unstorable_reason(raw):
            self.fail("rationale", f"Text of at most {limit:,} characters.")
            return ""
        if self.schema.rationale_required and not raw.strip():
            self.fail("rationale", "Required: say why.")
        return raw.strip()


# --- presets -----------------------------------------------------------------------------------------

PRESETS: dict[str, Schema] = {name: Schema.parse(preset["schema"]) for name, preset in PRESET_DATA.items()}
HHH = PRESETS["hhh"]
DEFAULT_PRESET = "hhh"


def preset_guidelines(name: str) -> str:
    return PRESET_DATA[name]["guidelines"]


def preset_choices() -> list[tuple[str, str]]:
    return [(name, preset["label"]) for name, preset in PRESET_DATA.items()]
