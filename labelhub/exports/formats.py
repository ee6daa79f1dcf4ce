"""Export rows as JSONL lines: pure functions over plain records (no ORM, no I/O).

The selector feeds the labels of one work item at a time (a "group") with the candidates they
refer to; each writer yields complete lines (bytes ending in b"\\n"). Conversations and answers are
encoded once per group and spliced into every pair that uses them: a K = 4 ranking gives six
pairs from four encoded answers.

Rules (also in the README). Each label is read with the labeling schema of its own guideline
version (`LabelRecord.schema`, see labelhub.projects.rubric), never the project's current one:
- Pairs come from ranks (1 = best, ties share a rank). Ties never form a pair; "all bad" forms none;
  two candidates with the same text form none; a schema with the ranking off forms none (its labels
  are counted in `left_out` as "labels_without_ranking"). pairs=all: every pair of different ranks;
  adjacent: neighbouring rank levels; best-vs-rest: the best level against every other.
- margin (K = 2 with a strength): the margin of the strength level in the label's schema.
- consensus=majority: a pair is kept when more than half of the item's labelers (after filters)
  produced it; its margin is the lower median of theirs when all of them gave one.
- KTO: desirable (true), undesirable (false) or not exported, by `Schema.kto_verdict` of the label's
  schema over one candidate's answers (all bad and "unsafe" are always undesirable). include_edits
  adds the edited ideal answer (true) and the candidate it fixed (false).
- rankings: each judgment carries the candidate's answers by question name in the schema's order
  (`answers`); a label whose schema asks HHH's questions keeps the shape it had before schemas
  (`ratings` for the scales, `flags` for the flags).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import orjson

from labelhub.projects.rubric import HHH, Schema, answers_of, ranking_pairs

NO_RANKING = "labels_without_ranking"  # a left_out reason: labels whose schema has the ranking off


@dataclass(slots=True)
class LabelRecord:
    label_id: int
    kind: str
    work_item_id: int
    labeler_id: int
    created_at: datetime
    guideline_version: int
    schema: Schema  # the labeling schema of that guideline version
    prompt_id: int
    external_id: str | None
    track: str
    messages: list
    content_hash: str
    candidate_ids: list = field(default_factory=list)
    display_order: list = field(default_factory=list)
    ranks: dict = field(default_factory=dict)
    all_bad: bool = False
    ratings: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    safety: dict = field(default_factory=dict)
    strength: str = ""
    rationale: str = ""
    time_on_task_ms: int = 0
    review_status: str = "pending"
    content: str = ""
    source_candidate_id: int | None = None
    original_content: str = ""
    demo: bool = False
    # Of the work item and its prompt: held out for evaluation; "" (training), "evaluation" or "fix";
    # the fix-it origin {"evaluation_run", "evaluation_set", "triage"}.
    held_out: bool = False
    purpose: str = ""
    origin: dict | None = None

    @property
    def margin(self) -> int | None:
        return self.schema.strength_margin(self.strength) if self.strength else None


@dataclass(slots=True)
class CandidateRecord:
    id: int
    content: str
    source: str = "imported"
    model_name: str = ""
    model_config_id: int | None = None
    finish_reason: str = ""
    provenance: dict = field(default_factory=dict)

    def describe(self) -> dict:
        """Where the answer came from: model, config and sampling parameters."""
        return {
            "candidate_id": self.id,
            "source": self.source,
            "model": self.model_name or None,
            "model_config_id": self.model_config_id,
            "sampling": self.provenance.get("sampling") if isinstance(self.provenance, dict) else None,
        }


# Line terminators for str.splitlines() that JSON leaves unescaped (NEL, LINE and PARAGRAPH SEPARATOR).
# In UTF-8 these byte sequences are never part of another character, so they are replaced as bytes.
_LINE_BREAKS = ((b"\xc2\x85", b"\\u0085"), (b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def dumps(value) -> bytes:
    """JSON for one line of a JSONL file: orjson, with the line breaks JSON allows raw escaped."""
    encoded = orjson.dumps(value)
    if b"\xc2\x85" in encoded or b"\xe2\x80" in encoded:
        for raw, escaped in _LINE_BREAKS:
            encoded = encoded.replace(raw, escaped)
    return encoded


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def conversation(messages: list) -> list[dict]:
    """The prompt as {role, content} messages, and nothing else."""
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def assistant(content: str) -> dict:
    return {"role": "assistant", "content": content}


def hh_text(messages: list[dict], answer: str) -> str:
    """Anthropic HH-RLHF transcript. A system message has no turn of its own there: its text comes
    first, before the first "Human:" turn."""
    parts = []
    for m in messages:
        if m["role"] == "system":
            parts.append(m["content"])
        else:
            parts.append(("\n\nHuman: " if m["role"] == "user" else "\n\nAssistant: ") + m["content"])
    return "".join(parts) + "\n\nAssistant: " + answer


# A turn marker as HH-RLHF readers split on ("\n\nHuman:" / "\n\nAssistant:"), also spaced out over blank
# lines, or at the very start of a text (it follows "\n\nHuman: " in the transcript, or opens it).
_HH_TURN = re.compile(r"(?:\A|\n\s*\n)\s*(?:Human|Assistant):")
HH_LEFT_OUT = "hh_rlhf_turn_marker"


def hh_turn_marker(text: str) -> bool:
    """True when `text` would add or move a turn in an HH-RLHF transcript."""
    return _HH_TURN.search(text) is not None


# --- pairs ---------------------------------------------------------------------------------------


def label_pairs(label: LabelRecord, mode: str) -> list[tuple[str, str]]:
    if label.all_bad or not label.ranks or not label.schema.ranking:
        return []
    return ranking_pairs(label.ranks, mode)


def majority_pairs(group: list[LabelRecord], mode: str) -> list[tuple[tuple[str, str], list[LabelRecord]]]:
    """Pairs that more than half of the group's labelers produced, with the labels that did."""
    votes: dict[tuple[str, str], list[LabelRecord]] = {}
    for label in group:
        for pair in label_pairs(label, mode):
            votes.setdefault(pair, []).append(label)
    need = len(group) // 2 + 1
    # Insertion order: labels in id order, each label's pairs in rank order (deterministic).
    return [(pair, voters) for pair, voters in votes.items() if len(voters) >= need]


def lower_median(values: list[int]) -> int:
    values = sorted(values)
    return values[(len(values) - 1) // 2]


# --- SFT -------------------------------------------------------------------------------------------


def sft_lines(group: list[LabelRecord], candidates: dict[int, CandidateRecord], fmt: str, metadata: bool):
    for label in group:
        messages = conversation(label.messages)
        if fmt == "trl-prompt-completion":
            row: dict = {"prompt": messages, "completion": [assistant(label.content)]}
        elif fmt == "openai-chat":
            # Earlier assistant turns are context, not training targets (OpenAI's per-message weight).
            for m in messages:
                if m["role"] == "assistant":
                    m["weight"] = 0
            row = {"messages": [*messages, assistant(label.content)]}
        else:
            row = {"messages": [*messages, assistant(label.content)]}
        if metadata:
            source = candidates.get(label.source_candidate_id) if label.source_candidate_id else None
            row["metadata"] = {
                **_label_metadata(label),
                "edited_from": source.describe() if source else None,
                "edited": bool(source) and label.content != label.original_content,
            }
        yield dumps(row) + b"\n"


# --- preferences ---------------------------------------------------------------------------------


class _Pieces:
    """Per-group encodings for one preference format: the prompt once, each answer once."""

    def __init__(self, fmt: str, messages: list, left_out: Counter | None = None):
        self.fmt = fmt
        self.messages = conversation(messages)
        self.prompt = dumps(self.messages)
        self.answers: dict = {}
        self.left_out = left_out if left_out is not None else Counter()
        self.refused = fmt == "hh-rlhf" and any(hh_turn_marker(m["content"]) for m in self.messages)

    def answer(self, key, content: str) -> bytes | None:
        """The encoded answer; None when hh-rlhf cannot express it (a turn marker in it)."""
        if key not in self.answers:
            if self.fmt == "trl-preference-implicit":
                encoded = self.prompt[:-1] + b"," + dumps(assistant(content)) + b"]"
            elif self.fmt == "hh-rlhf":
                encoded = None if self.refused or hh_turn_marker(content) else dumps(hh_text(self.messages, content))
            else:
                encoded = dumps([assistant(content)])
            self.answers[key] = encoded
        return self.answers[key]

    def row(
        self, chosen: bytes | None, rejected: bytes | None, margin: int | None, metadata: dict | None
    ) -> bytes | None:
        """One line, or None (counted in left_out) when an answer cannot be expressed."""
        if chosen is None or rejected is None:
            self.left_out[HH_LEFT_OUT] += 1
            return None
        fmt = self.fmt
        if fmt == "trl-preference":
            parts = [b'{"prompt":', self.prompt, b',"chosen":', chosen, b',"rejected":', rejected]
        elif fmt == "trl-preference-implicit":
            parts = [b'{"chosen":', chosen, b',"rejected":', rejected]
        elif fmt == "openai-dpo":
            parts = [b'{"input":{"messages":', self.prompt, b'},"preferred_output":', chosen]
            parts += [b',"non_preferred_output":', rejected]
        else:  # hh-rlhf
            parts = [b'{"chosen":', chosen, b',"rejected":', rejected]
        if margin is not None and fmt.startswith("trl-"):
            parts.append(b',"margin":%d' % margin)
        if metadata is not None:
            parts += [b',"metadata":', dumps(metadata)]
        parts.append(b"}\n")
        return b"".join(parts)


def preference_lines(
    group: list[LabelRecord],
    candidates: dict[int, CandidateRecord],
    fmt: str,
    *,
    pairs: str = "all",
    consensus: str = "none",
    include_edits: bool = False,
    metadata: bool = False,
    left_out: Counter | None = None,
) -> Iterator[bytes]:
    """Preference rows; a row the format cannot express is counted in `left_out` and not written."""
    if not group:
        return
    pieces = _Pieces(fmt, group[0].messages, left_out)
    first = group[0]
    if first.kind == "demonstration":
        if include_edits:
            for label in group:
                yield from _edit_pair(pieces, label, candidates, metadata)
        return

    unranked = sum(1 for label in group if not label.schema.ranking)
    if unranked:
        pieces.left_out[NO_RANKING] += unranked

    def text(cid: str) -> str | None:
        candidate = candidates.get(int(cid))
        return candidate.content if candidate else None

    if consensus == "majority":
        for (a, b), voters in majority_pairs(group, pairs):
            ca, cb = text(a), text(b)
            if ca is None or cb is None or ca == cb:
                continue
            margins = [v.margin for v in voters]
            margin = lower_median(margins) if all(m is not None for m in margins) else None
            meta = None
            if metadata:
                meta = {
                    **_vote_metadata(group, voters),
                    "chosen": candidates[int(a)].describe(),
                    "rejected": candidates[int(b)].describe(),
                }
            line = pieces.row(pieces.answer(a, ca), pieces.answer(b, cb), margin, meta)
            if line is not None:
                yield line
        return
    for label in group:
        for a, b in label_pairs(label, pairs):
            ca, cb = text(a), text(b)
            if ca is None or cb is None or ca == cb:
                continue
            meta = None
            if metadata:
                meta = {
                    **_label_metadata(label),
                    "chosen": {**candidates[int(a)].describe(), "rank": label.ranks[a]},
                    "rejected": {**candidates[int(b)].describe(), "rank": label.ranks[b]},
                    "strength": label.strength or None,
                    "pair_source": "ranking",
                }
            line = pieces.row(pieces.answer(a, ca), pieces.answer(b, cb), label.margin, meta)
            if line is not None:
                yield line


def _edited(label: LabelRecord, candidates: dict[int, CandidateRecord]) -> CandidateRecord | None:
    """The candidate a demonstration fixed, when the labeler really changed it."""
    if not label.source_candidate_id:
        return None
    source = candidates.get(label.source_candidate_id)
    if source is None or label.content.strip() == label.original_content.strip():
        return None
    return source


def _edit_pair(pieces: _Pieces, label: LabelRecord, candidates, metadata: bool) -> Iterator[bytes]:
    source = _edited(label, candidates)
    if source is None:
        return
    meta = None
    if metadata:
        meta = {
            **_label_metadata(label),
            "chosen": {"candidate_id": None, "source": "human_edit", "model": None},
            "rejected": source.describe(),
            "strength": None,
            "pair_source": "edit",
        }
    chosen = pieces.answer(("edit", label.label_id), label.content)
    line = pieces.row(chosen, pieces.answer(("original", label.label_id), label.original_content), None, meta)
    if line is not None:
        yield line


# --- KTO -------------------------------------------------------------------------------------------


def kto_verdict(label: LabelRecord, cid: str) -> bool | None:
    """True (desirable), False (undesirable) or None (ambiguous: not exported), by the KTO rule of
    the label's schema."""
    return label.schema.kto_verdict(
        answers=answers_of(label.ratings, label.flags, cid), safety=label.safety.get(cid), all_bad=label.all_bad
    )


def kto_lines(
    group: list[LabelRecord],
    candidates: dict[int, CandidateRecord],
    *,
    consensus: str = "none",
    include_edits: bool = False,
    metadata: bool = False,
) -> Iterator[bytes]:
    if not group:
        return
    first = group[0]
    prompt = dumps(conversation(first.messages))

    def line(content: str, verdict: bool, meta: dict | None) -> bytes:
        parts = [b'{"prompt":', prompt, b',"completion":', dumps([assistant(content)])]
        parts.append(b',"label":true' if verdict else b',"label":false')
        if meta is not None:
            parts += [b',"metadata":', dumps(meta)]
        parts.append(b"}\n")
        return b"".join(parts)

    if first.kind == "demonstration":
        if not include_edits:
            return
        for label in group:
            source = _edited(label, candidates)
            if source is None:
                continue
            meta = _label_metadata(label) if metadata else None
            yield line(label.content, True, meta and {**meta, "candidate": None, "kto_source": "edit"})
            yield line(
                label.original_content, False, meta and {**meta, "candidate": source.describe(), "kto_source": "edit"}
            )
        return
    ids = [str(c) for c in first.candidate_ids]
    if consensus == "majority":
        need = len(group) // 2 + 1
        for cid in ids:
            candidate = candidates.get(int(cid))
            if candidate is None:
                continue
            verdicts = [kto_verdict(label, cid) for label in group]
            for verdict in (True, False):
                voters = [label for label, v in zip(group, verdicts, strict=True) if v is verdict]
                if len(voters) >= need:
                    meta = None
                    if metadata:
                        meta = {
                            **_vote_metadata(group, voters),
                            "candidate": candidate.describe(),
                            "kto_source": "rating",
                        }
                    yield line(candidate.content, verdict, meta)
        return
    for label in group:
        for cid in ids:
            candidate = candidates.get(int(cid))
            verdict = kto_verdict(label, cid)
            if candidate is None or verdict is None:
                continue
            meta = None
            if metadata:
                meta = {**_label_metadata(label), "candidate": candidate.describe(), "kto_source": "rating"}
            yield line(candidate.content, verdict, meta)


# --- rankings (the raw truth) --------------------------------------------------------------------


def ranking_lines(
    group: list[LabelRecord],
    candidates: dict[int, CandidateRecord],
    *,
    pairs: str = "all",
    consensus: str = "none",
    metadata: bool = False,
) -> Iterator[bytes]:
    """One row per compared item: every candidate with its provenance and every labeler's judgment."""
    if not group or group[0].kind != "comparison":
        return
    first = group[0]
    ids = [str(c) for c in first.candidate_ids]
    row: dict = {
        "work_item_id": first.work_item_id,
        "prompt_id": first.prompt_id,
        "track": first.track,
        "prompt": conversation(first.messages),
        "candidates": [
            {
                **candidates[int(cid)].describe(),
                "content": candidates[int(cid)].content,
                "finish_reason": candidates[int(cid)].finish_reason or None,
                "provenance": candidates[int(cid)].provenance or None,
            }
            for cid in ids
            if int(cid) in candidates
        ],
        "labels": [_ranking_label(label, ids) for label in group],
    }
    if consensus == "majority":
        row["majority_pairs"] = [
            {"chosen": int(a), "rejected": int(b), "votes": len(voters)}
            for (a, b), voters in majority_pairs(group, pairs)
        ]
    if metadata:
        row["metadata"] = _item_metadata(first)
    yield dumps(row) + b"\n"


def _ranking_label(label: LabelRecord, ids: list[str]) -> dict:
    shown = {str(cid): position for position, cid in enumerate(label.display_order, start=1)}
    ranks = list(label.ranks.values())
    shape = _shape(label.schema)
    return {
        "label_id": label.label_id,
        "labeler_id": label.labeler_id,
        "guideline_version": label.guideline_version,
        "created_at": _iso(label.created_at),
        "time_on_task_ms": label.time_on_task_ms,
        "display_order": [int(c) for c in label.display_order],
        "all_bad": label.all_bad,
        "has_ties": len(set(ranks)) < len(ranks),
        "strength": label.strength or None,
        "margin": label.margin,
        "rationale": label.rationale,
        "review_status": label.review_status,
        "demo": label.demo,
        "judgments": [
            {
                "candidate_id": int(cid),
                "rank": label.ranks.get(cid),
                "shown_position": shown.get(cid),
                **_judgment_answers(label, cid, shape),
                "safety": label.safety.get(cid),
            }
            for cid in ids
        ],
    }


class _Shape(NamedTuple):
    hhh: bool  # asks exactly HHH's questions (any flag options): the judgment shape of before schemas
    questions: tuple[str, ...]  # question names, in the schema's order
    scales: tuple[str, ...]


_SHAPES: dict[int, tuple[Schema, _Shape]] = {}


def _shape(schema: Schema) -> _Shape:
    """What a rankings judgment needs of a schema, worked out once per schema (not per label): the
    entry holds the schema itself, so its id cannot be reused while cached."""
    hit = _SHAPES.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    if len(_SHAPES) >= 64:
        _SHAPES.clear()
    hhh = [(q.name, q.type) for q in schema.questions] == [(q.name, q.type) for q in HHH.questions]
    shape = _Shape(hhh, tuple(q.name for q in schema.questions), tuple(q.name for q in schema.scales()))
    _SHAPES[id(schema)] = (schema, shape)
    return shape


def _judgment_answers(label: LabelRecord, cid: str, shape: _Shape) -> dict:
    """{"answers": {question: value} | None} in the schema's order. A schema with HHH's questions keeps
    the shape rankings had before schemas (existing consumers and the golden files read it as before):
    {"ratings": {scale: value} | None, "flags": [...]}."""
    if not shape.hhh:
        given = answers_of(label.ratings, label.flags, cid)
        return {"answers": {name: given[name] for name in shape.questions if name in given} or None}
    ratings = label.ratings.get(cid)
    scales = {name: ratings[name] for name in shape.scales if name in ratings} if ratings else None
    return {"ratings": scales, "flags": label.flags.get(cid, [])}


# --- metadata ------------------------------------------------------------------------------------


def _item_metadata(label: LabelRecord) -> dict:
    return {
        "prompt_id": label.prompt_id,
        "external_id": label.external_id,
        "work_item_id": label.work_item_id,
        "track": label.track,
    }


FIX_PURPOSE = "fix"  # labeling.WorkItem.purpose of fix-it items (formats.py imports no models)
ORIGIN_KEYS = ("evaluation_run", "evaluation_set", "triage")


def _fix_metadata(label: LabelRecord) -> dict:
    """Where a fix-it item's label came from (the run, set and triage item), for fix-it labels only."""
    if label.purpose != FIX_PURPOSE:
        return {}
    origin = label.origin if isinstance(label.origin, dict) else {}
    return {key: origin.get(key) for key in ORIGIN_KEYS}


def _vote_metadata(group: list[LabelRecord], voters: list[LabelRecord]) -> dict:
    """Who agreed on a majority row, out of how many labelers of the item."""
    return {
        **_item_metadata(group[0]),
        "labeler_ids": sorted(v.labeler_id for v in voters),
        "label_ids": sorted(v.label_id for v in voters),
        "votes": len(voters),
        "labelers": len(group),
        "guideline_versions": sorted({v.guideline_version for v in voters}),
    }


def _label_metadata(label: LabelRecord) -> dict:
    return {
        **_item_metadata(label),
        **_fix_metadata(label),
        "label_id": label.label_id,
        "labeler_id": label.labeler_id,
        "guideline_version": label.guideline_version,
        "labeled_at": _iso(label.created_at),
        "time_on_task_ms": label.time_on_task_ms,
        "review_status": label.review_status,
        "demo": label.demo,
    }


def group_lines(
    kind: str, fmt: str, group: list[LabelRecord], candidates, params, left_out: Counter | None = None
) -> Iterable[bytes]:
    """Dispatch one group to its writer; rows a format cannot express are counted in `left_out`."""
    if kind == "sft":
        return sft_lines(group, candidates, fmt, params.metadata)
    if kind == "preferences":
        return preference_lines(
            group,
            candidates,
            fmt,
            pairs=params.pairs,
            consensus=params.consensus,
            include_edits=params.include_edits,
            metadata=params.metadata,
            left_out=left_out,
        )
    if kind == "kto":
        return kto_lines(
            group, candidates, consensus=params.consensus, include_edits=params.include_edits, metadata=params.metadata
        )
    return ranking_lines(group, candidates, pairs=params.pairs, consensus=params.consensus, metadata=params.metadata)
