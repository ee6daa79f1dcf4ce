"""What statistics a labeling-schema question supports: its shape, and whether two versions ask it the same.

rubric.py owns the vocabulary (what a question is); this module only derives the statistical reading
of it, for the quality statistics and charts:

- scale → "interval" (Krippendorff's alpha with squared differences, a histogram over its own min..max);
- binary, choice → "nominal";
- multi → "set" (one binary alpha per option, and a pooled one over every (candidate, option) unit);
- text → None (no agreement, no distribution).

Two schema versions ask "the same question" when its name and its *definition* (type, range, options)
are equal; wording (label, description, hint), key, required and tracks may differ. Labels of equal
definitions pool; different definitions of one name are kept apart (`QuestionGroup.key` then names the
first version that asked it, e.g. "helpful@v2").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

from labelhub.projects.rubric import Question, Schema

LEVELS = {"scale": "interval", "binary": "nominal", "choice": "nominal", "multi": "set", "text": None}


def question_level(question: Question) -> str | None:
    """The statistical shape of a question: interval, nominal, set, or None (not counted)."""
    return LEVELS.get(question.type)


def definition_digest(question: Question) -> str:
    """A fingerprint of what an answer means: name, type, range and options (not the wording)."""
    data = {"name": question.name, "type": question.type, "min": question.min, "max": question.max}
    data["options"] = list(question.options)
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def value_domain(question: Question) -> list:
    """The answers a histogram counts, in order: a scale's points, false/true, or the options."""
    if question.type == "scale":
        return list(range(question.min, question.max + 1))
    if question.type == "binary":
        return [False, True]
    return list(question.options)


@dataclass
class QuestionGroup:
    """One question as asked by one or more schema versions with the same definition."""

    key: str
    question: Question  # as the latest version in the group words it
    digest: str
    versions: list[int] = field(default_factory=list)

    @property
    def level(self) -> str | None:
        return question_level(self.question)

    def describe(self) -> dict:
        q = self.question
        data = {
            "key": self.key,
            "name": q.name,
            "label": q.label,
            "type": q.type,
            "level": self.level,
            "digest": self.digest,
            "versions": sorted(self.versions),
        }
        if q.type == "scale":
            data |= {"min": q.min, "max": q.max}
        elif q.type in ("choice", "multi"):
            data["options"] = list(q.options)
        return data


def question_groups(schemas: dict[int, Schema]) -> tuple[dict[str, QuestionGroup], dict[tuple[int, str], str]]:
    """Group the counted questions of each version ({version number: schema}) by (name, definition).
    Returns ({group key: group}, {(version number, question name): group key}); a group's key is the
    question's name, or name@v<first version> when versions define that name differently."""
    by_definition: dict[tuple[str, str], QuestionGroup] = {}
    for number in sorted(schemas):
        for q in schemas[number].questions:
            if question_level(q) is None:
                continue
            digest = definition_digest(q)
            group = by_definition.setdefault((q.name, digest), QuestionGroup(q.name, q, digest))
            group.question = q
            group.versions.append(number)
    names: dict[str, int] = {}
    for name, _digest in by_definition:
        names[name] = names.get(name, 0) + 1
    groups, lookup = {}, {}
    for (name, _digest), group in by_definition.items():
        if names[name] > 1:
            group.key = f"{name}@v{min(group.versions)}"
        groups[group.key] = group
        for number in group.versions:
            lookup[(number, name)] = group.key
    return groups, lookup


def unsure_levels(schema: Schema) -> set[str]:
    """The strength levels that mean "no real preference": those with margin 0."""
    return {level.name for level in schema.strength_levels if level.margin == 0}
