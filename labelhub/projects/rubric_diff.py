"""What changed between two labeling schemas, as lines a person reads (the guideline version and diff
pages). Pure: no database access; tested in tests/projects/test_rubric.py."""

from __future__ import annotations

from .rubric import Schema

_SHORT = 40  # values longer than this are named, not quoted


def _show(value) -> str:
    if value is None:
        return "all tracks"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value) or "none"
    elif isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    else:
        text = str(value) if value != "" else "empty"
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def _field_changes(old: dict, new: dict) -> list[str]:
    """`field old → new` for each field that differs (a field only one side has counts as changed)."""
    out = []
    for key in [*old, *(k for k in new if k not in old)]:
        if old.get(key) != new.get(key):
            out.append(f"{key.replace('_', ' ')} {_show(old.get(key))} → {_show(new.get(key))}")
    return out


def _named(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


def _section(title: str, old: dict, new: dict) -> list[str]:
    changes = _field_changes(old, new)
    return [f"{title} changed: {'; '.join(changes)}."] if changes else []


def _tracks(old: list[dict], new: list[dict]) -> list[str]:
    before, after = _named(old), _named(new)
    lines = [f"Track added: {n} ({after[n]['label']})." for n in after if n not in before]
    lines += [f"Track removed: {n}." for n in before if n not in after]
    for name in (n for n in after if n in before):
        changes = _field_changes(before[name], after[name])
        if changes:
            lines.append(f"Track {name} changed: {'; '.join(changes)}.")
    return lines


def _questions(old: list[dict], new: list[dict]) -> list[str]:
    before, after = _named(old), _named(new)
    lines = [f"Question added: {n} ({q['type']}, “{q['label']}”)." for n, q in after.items() if n not in before]
    lines += [f"Question removed: {n}." for n in before if n not in after]
    for name in (n for n in after if n in before):
        changes = _field_changes(before[name], after[name])
        if changes:
            lines.append(f"Question {name} changed: {'; '.join(changes)}.")
    kept_before = [n for n in before if n in after]
    kept_after = [n for n in after if n in before]
    if kept_before != kept_after:
        lines.append(f"Question order changed: {', '.join(kept_after)}.")
    return lines


def _strength(old: dict, new: dict) -> list[str]:
    def levels(d):
        return [f"{lv['name']} ({lv['margin']})" for lv in d["levels"]]

    if old == new:
        return []
    if levels(old) == levels(new):
        return ["Strength level labels changed."]
    return [f"Strength levels changed: {', '.join(levels(old)) or 'none'} → {', '.join(levels(new)) or 'none'}."]


def schema_changes(old: Schema | None, new: Schema) -> list[str]:
    """Human lines for what changed from `old` (None: from nothing) to `new`: questions added, removed or
    changed (which fields), tracks added or removed, and the ranking, strength, safety, rationale and KTO
    rules. Empty: the same schema."""
    a = old.as_dict() if old is not None else {"tracks": [], "questions": []}
    b = new.as_dict()
    lines = _tracks(a["tracks"], b["tracks"]) + _questions(a["questions"], b["questions"])
    if old is None:
        return lines
    lines += _section("Ranking", a["ranking"], b["ranking"])
    lines += _strength(a["strength"], b["strength"])
    lines += _section("Safety verdict", a["safety"], b["safety"])
    lines += _section("Rationale", a["rationale"], b["rationale"])
    lines += _section("KTO rule", a["kto"], b["kto"])
    return lines


def _rules(schema: Schema, track_labels: dict[str, str]) -> list[str]:
    if schema.ranking:
        extras = [w for ok, w in ((schema.ties, "ties allowed"), (schema.all_bad, "“all bad” allowed")) if ok]
        lines = ["Rank the candidates, best first" + (f" ({', '.join(extras)})." if extras else " (no ties).")]
    else:
        lines = ["No ranking: only the questions are answered."]
    if schema.strength_levels and schema.ranking:
        levels = ", ".join(f"{s.label} (margin {s.margin})" for s in schema.strength_levels)
        lines.append(f"With two candidates, say how much better the preferred one is: {levels}.")
    required_on = [track_labels.get(t, t) for t in schema.track_names if t in schema.safety_required_on]
    if not schema.safety_enabled:
        lines.append("No safety verdict.")
    elif required_on:
        lines.append(f"A safety verdict (safe / unsafe) per candidate is required on: {', '.join(required_on)}.")
    else:
        lines.append("A safety verdict (safe / unsafe) may be given; no track requires it.")
    need = "required" if schema.rationale_required else "optional"
    lines.append(f"Rationale: {need}, at most {schema.rationale_max_length:,} characters.")
    return lines


def _question_summary(q, track_labels: dict[str, str]) -> dict:
    return {
        "name": q.name,
        "label": q.label,
        "type": q.type,
        "description": q.description,
        "hint": q.hint,
        "key": q.key,
        "required": q.required,
        "tracks": None if q.tracks is None else [track_labels.get(t, t) for t in q.tracks],
        "points": [(p, q.point_labels.get(p, "")) for p in range(q.min, q.max + 1)] if q.type == "scale" else [],
        "range": f"{q.min}–{q.max}" if q.type == "scale" else "",
        "options": list(q.options),
        "max_length": q.max_length if q.type == "text" else None,
    }


def schema_summary(schema: Schema) -> dict:
    """A schema as a labeler meets it, for templates: its tracks (with the questions each shows and
    whether it needs a safety verdict), its questions and the item-level rules, in plain words."""
    labels = {t.name: t.label for t in schema.tracks}
    tracks = [
        {
            "name": t.name,
            "label": t.label,
            "description": t.description,
            "questions": [q.label for q in schema.questions_for(t.name)],
            "safety": schema.needs_safety(t.name),
        }
        for t in schema.tracks
    ]
    return {
        "tracks": tracks,
        "questions": [_question_summary(q, labels) for q in schema.questions],
        "rules": _rules(schema, labels),
        "digest": schema.digest(),
    }
