"""Per-question statistics of comparison answers, each label read with the schema of its own guideline
version (see shapes.py for how questions of different versions pool):

- agreement: Krippendorff's alpha per question group at the level its shape needs (interval for scales,
  nominal for binary / choice; for multi one binary alpha per option and a pooled one), over units
  (item, candidate), with a percentile bootstrap interval over items and "enough_data" under a minimum
  number of items;
- distributions: a histogram per question over its own values (a scale's min..max, false/true, options);
- per-model means of every scale question (the leaderboard's columns).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from labelhub.projects.rubric import Schema, answers_of

from . import metrics
from .shapes import question_groups, value_domain

BOOTSTRAP = 200  # resamples for small samples…
BOOTSTRAP_MIN = 50  # …and at least this many for large ones, where the interval is narrow anyway:
BOOTSTRAP_BUDGET = 3_000_000  # resamples × values per question (a few seconds on one core)


def alpha_interval(items, units, values, level: str, *, min_items: int, seed: int = 0) -> dict:
    """Alpha of long-format data (item position, unit within the item, value) with a percentile
    bootstrap over items (BOOTSTRAP resamples, fewer for large samples: BOOTSTRAP_BUDGET), widened to
    contain the point estimate: {value, low, high, items, values, enough_data}. Units with a single value
    are dropped first; under `min_items` items, enough_data is false."""
    items, units, values = (np.asarray(a) for a in (items, units, values))
    empty = {"value": None, "low": None, "high": None, "items": 0, "values": 0, "enough_data": False}
    if items.size < 2:
        return empty
    width = int(units.max()) + 1
    codes = items.astype(np.int64) * width + units
    _, inverse, sizes = np.unique(codes, return_inverse=True, return_counts=True)
    keep = sizes[inverse] >= 2
    items, units, values, codes = items[keep], units[keep], values[keep].astype(np.float64), codes[keep]
    if not items.size:
        return empty
    order = np.argsort(items, kind="stable")
    items, units, values, codes = items[order], units[order], values[order], codes[order]
    item_ids, starts, lengths = np.unique(items, return_index=True, return_counts=True)
    value = metrics.krippendorff_alpha_long(codes, values, level=level)
    n = item_ids.size
    low = high = None
    if n >= 2 and value is not None:
        rng = np.random.default_rng(seed)
        samples = []
        for _ in range(max(BOOTSTRAP_MIN, min(BOOTSTRAP, BOOTSTRAP_BUDGET // values.size))):
            pick = rng.integers(0, n, n)
            lens = lengths[pick]
            offsets = np.cumsum(lens) - lens
            sel = np.repeat(starts[pick] - offsets, lens) + np.arange(lens.sum())
            resampled = np.repeat(np.arange(n), lens) * width + units[sel]
            sample = metrics.krippendorff_alpha_long(resampled, values[sel], level=level)
            if sample is not None:
                samples.append(sample)
        if samples:
            low, high = (float(v) for v in np.quantile(samples, [0.025, 0.975]))
            low, high = min(low, value), max(high, value)
    return {
        "value": value,
        "low": low,
        "high": high,
        "items": int(n),
        "values": int(values.size),
        "enough_data": value is not None and n >= min_items,
    }


class AnswerStats:
    """Accumulates comparison labels item by item; `result()` gives the payload's parts."""

    def __init__(self, schemas: dict[int, Schema], *, min_items: int):
        self.schemas = schemas  # version number → schema
        self.groups, self.lookup = question_groups(schemas)
        self.min_items = min_items
        self.hist = {key: defaultdict(int) for key in self.groups}
        self.long = {key: ([], [], []) for key in self.groups}  # item position, unit, value
        self.items: dict[str, int] = defaultdict(int)  # items seen per group (positions)
        self.model = {key: defaultdict(lambda: [0, 0]) for key, g in self.groups.items() if g.question.type == "scale"}
        self._asked: dict[tuple[int, str], list] = {}

    def asked(self, version: int, track: str) -> list:
        """(group key, question) for each counted question the version shows on the track."""
        if (version, track) not in self._asked:
            schema = self.schemas.get(version)
            questions = schema.questions_for(track) if schema is not None else ()
            self._asked[(version, track)] = [
                (self.lookup[(version, q.name)], q) for q in questions if (version, q.name) in self.lookup
            ]
        return self._asked[(version, track)]

    def add_item(self, candidate_ids: list[str], labels: list[tuple], model_key) -> None:
        """One item's comparison labels: (version number, track, ratings, flags) each."""
        positions: dict[str, int] = {}
        models = [model_key(cid) for cid in candidate_ids]
        for version, track, ratings, flags in labels:
            asked = self.asked(version, track)
            for key, _q in asked:
                if key not in positions:
                    positions[key] = self.items[key]
                    self.items[key] += 1
            for index, cid in enumerate(candidate_ids):
                given = answers_of(ratings, flags, cid)
                for key, q in asked:
                    self._count(key, q, index, given.get(q.name), positions[key], models[index])

    def _count(self, key: str, q, index: int, answer, position: int, model: str | None) -> None:
        items, units, values = self.long[key]
        if q.type == "multi":
            ticked = set(answer) if isinstance(answer, list) else set()
            for o, option in enumerate(q.options):
                self.hist[key][option] += option in ticked
                items.append(position)
                units.append(index * len(q.options) + o)
                values.append(1.0 if option in ticked else 0.0)
            self.hist[key][""] += not ticked
            return
        if answer is None or q.check(answer) is not None:
            return
        self.hist[key][answer] += 1
        items.append(position)
        units.append(index)
        values.append(float(q.options.index(answer)) if q.type == "choice" else float(answer))
        if q.type == "scale" and model:
            self.model[key][model][0] += answer
            self.model[key][model][1] += 1

    def agreement(self) -> list[dict]:
        out = []
        for seed, (key, group) in enumerate(self.groups.items()):
            items, units, values = self.long[key]
            level = "nominal" if group.level == "set" else group.level
            row = group.describe() | alpha_interval(items, units, values, level, min_items=self.min_items, seed=seed)
            if group.question.type == "multi":
                row["options"] = self._per_option(group, items, units, values, seed)
            out.append(row)
        return out

    def _per_option(self, group, items, units, values, seed: int) -> dict:
        width = len(group.question.options)
        items, units, values = np.asarray(items), np.asarray(units, dtype=np.int64), np.asarray(values)
        per = {}
        for o, option in enumerate(group.question.options):
            mask = units % width == o if units.size else units.astype(bool)
            per[option] = alpha_interval(
                items[mask], units[mask] // width, values[mask], "nominal", min_items=self.min_items, seed=seed
            )
        return per

    def distributions(self) -> list[dict]:
        out = []
        for key, group in self.groups.items():
            counts = self.hist[key]
            domain = value_domain(group.question)
            row = group.describe() | {"counts": [{"value": v, "n": counts.get(v, 0)} for v in domain]}
            if group.question.type == "multi":
                row["none"] = counts.get("", 0)
            out.append(row)
        return out

    def model_means(self, model: str) -> dict:
        return {key: (s / n if n else None) for key, per in self.model.items() for s, n in [per.get(model, (0, 0))]}

    def scale_columns(self) -> list[dict]:
        return [{"key": key, "label": self.groups[key].question.label} for key in self.model]
