"""Project statistics, computed in one pass over the labels (a worker runs this; pages read the
stored result): agreement with bootstrap intervals, labeler statistics and anomaly flags, label
distributions, and the model leaderboard from human comparisons.

Definitions (also in the README):
- A label's pair signs: for every pair of its candidates, which one it ranks better, or a tie.
  "All bad" counts as all tied (no preference). Pairwise agreement is the share of (labeler pair ×
  candidate pair) on which two labelers of the same item give the same sign; 95 % intervals by a
  bootstrap over items.
- Leave-one-out agreement of a labeler: on each item they share, the majority sign of the others per
  candidate pair (pairs where the others split evenly are skipped); the share they match.
- Position bias: how often the first-shown candidate is ranked best, against chance (1/K).
- Length bias: of strict preferences between answers of different length, how often the longer wins.
- Answers to the schema's questions (answer_stats.py, shapes.py): every label is read with the schema of
  its own guideline version; Krippendorff's alpha per question at the level its shape needs, pooled
  across versions only where the question's definition is unchanged ("agreement.questions", each with
  its versions and an interval), histograms over each question's own values, and the strength
  distribution over the schemas' levels ("unsure" = labels choosing a level of margin 0).
- Small samples: an agreement interval is the wider of the bootstrap over items and the Wilson interval
  of the pooled share (a bootstrap of 2 items that both agree is the point [1, 1]); under
  MIN_AGREEMENT_ITEMS items it says "enough_data": false. A model's score interval never collapses
  (see metrics.bradley_terry_bootstrap), its win rate has a Wilson interval, and under
  MIN_COMPARISONS comparisons it says "enough_data": false and ranks after the models that have them.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import NamedTuple

import orjson
from django.db.models import Count
from django.db.models.functions import Length, TruncDate

from labelhub.core.db import consistent_read
from labelhub.core.streaming import iter_rows
from labelhub.generation.models import ModelConfig
from labelhub.labeling.models import Assignment, AssignmentStatus, Label, ReviewStatus
from labelhub.projects.models import GuidelineVersion, Project
from labelhub.projects.rubric import FLAGS, answers_of, schema_of
from labelhub.prompts.models import Candidate

from . import metrics
from .answer_stats import AnswerStats
from .models import GoldStandard
from .shapes import unsure_levels

BATCH = 2000
BOOTSTRAP = 500

# Anomaly rules: thresholds a labeler is flagged by (an admin decides what to do).
MIN_LABELS = 20  # below this, no flag is raised (too little evidence)
TOO_FAST_SHARE = 0.25  # median time on task under a quarter of the project's median
TOO_FAST_MS = 3000  # or under 3 seconds
BIAS_P = 0.01  # significance for position and length bias
POSITION_BIAS_GAP = 0.15  # …and first-shown wins at least 15 points above chance
LENGTH_BIAS_GAP = 0.2  # …and the longer answer wins over 70 % (or under 30 %)
MIN_GOLD = 5
LOW_GOLD_ACCURACY = 0.6
MIN_AGREEMENT_PAIRS = 30
MIN_AGREEMENT_ITEMS = 10  # below this, agreement is shown as "not enough data"
MIN_COMPARISONS = 20  # below this, a model's score is shown as "not enough data"
LOW_AGREEMENT = 0.55  # random strict preferences agree half the time


class _Row(NamedTuple):
    """One label as the statistics read it (the columns of _FIELDS, JSON decoded)."""

    id: int
    kind: str
    work_item_id: int
    user_id: int
    created_at: object
    version: int | None
    track: str
    candidate_ids: list
    display_order: list
    ranks: dict | None
    all_bad: bool
    ratings: dict | None
    flags: dict | None
    strength: str
    safety: dict | None
    time_on_task_ms: int
    version_id: int | None


_FIELDS = (
    "id", "kind", "work_item_id", "user_id", "created_at", "guideline_version__number", "work_item__prompt__track",
    "work_item__candidate_ids", "display_order", "ranks", "all_bad", "ratings", "flags", "strength", "safety",
    "time_on_task_ms", "guideline_version_id",
)  # fmt: skip
_JSON = (7, 8, 9, 11, 12, 14)


@dataclass
class _Labeler:
    labels: int = 0
    demonstrations: int = 0
    comparisons: int = 0
    times: list = field(default_factory=list)
    gold_total: int = 0
    gold_correct: int = 0
    positions: list = field(default_factory=list)  # (display_order, ranks)
    lengths: list = field(default_factory=list)  # (len chosen, len rejected)
    first: object = None
    last: object = None


def _decode(row) -> _Row:
    row = list(row)
    for i in _JSON:
        if isinstance(row[i], str | bytes):
            row[i] = orjson.loads(row[i])
    return _Row(*row)


def _interval(numerators: list[int], denominators: list[int], seed: int = 0) -> dict:
    """Agreement over items: the share, an interval that a few items cannot collapse, and whether
    there are enough items to read it."""
    total = sum(denominators)
    if not total:
        return {"value": None, "low": None, "high": None, "n": 0, "items": 0, "enough_data": False}
    low, high = metrics.wilson_interval(sum(numerators), total)
    boot_low, boot_high = metrics.bootstrap_ratio_ci(numerators, denominators, n_resamples=BOOTSTRAP, seed=seed)
    if boot_low is not None:
        low, high = min(low, boot_low), max(high, boot_high)
    items = len(denominators)
    return {
        "value": sum(numerators) / total,
        "low": low,
        "high": high,
        "n": total,
        "items": items,
        "enough_data": items >= MIN_AGREEMENT_ITEMS,
    }


def project_stats_compute(*, project: Project) -> dict:
    started = time.monotonic()
    with consistent_read():
        data = _compute(project)
    data["duration_ms"] = int((time.monotonic() - started) * 1000)
    return data


def _config_keys(project: Project) -> dict:
    return {c.pk: c.name for c in ModelConfig.objects.filter(project=project)}


def _compute(project: Project) -> dict:
    return _Pass(project).run().result()


class _Pass:
    """The one pass over a project's labels, item by item (labels come ordered by item), collecting
    everything the statistics are made of; `result()` turns it into the stored payload."""

    def __init__(self, project: Project):
        self.project = project
        self.labelers: dict[int, _Labeler] = defaultdict(_Labeler)
        self.gold = {g.work_item_id: g for g in GoldStandard.objects.filter(project=project)}
        self.versions = {
            v.pk: (v.number, schema_of(v.schema)) for v in GuidelineVersion.objects.filter(project=project)
        }
        self.schemas = dict(self.versions.values())
        self.answers = AnswerStats(self.schemas, min_items=MIN_AGREEMENT_ITEMS)
        self.strength, self.flags, self.safety = Counter(), Counter(), Counter()
        self.unsure = self.all_bad = self.comparisons = self.demonstrations = 0
        self.games: list[tuple[str, str]] = []  # (winner, loser) model keys
        self.ties: list[tuple[str, str]] = []
        self.per_model: dict = defaultdict(lambda: {"judged": 0, "flagged": 0, "unsafe": 0, "verdicts": 0})
        self.overall: tuple[list[int], list[int]] = ([], [])
        self.by_version: dict = defaultdict(lambda: ([], []))
        self.by_track: dict = defaultdict(lambda: ([], []))
        self.tau_sum, self.tau_pairs = 0.0, 0
        self.loo: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        self.candidates: dict[int, tuple] = {}  # pk → (model config id, model name, length), per batch

    def run(self) -> _Pass:
        qs = (
            Label.objects.filter(project=self.project)
            .exclude(review_status=ReviewStatus.REJECTED)
            .order_by("work_item_id", "id")
        )
        batch: list[list[_Row]] = []
        for _item, group in groupby((_decode(row) for row in iter_rows(qs, _FIELDS, batch=BATCH)), key=_item_of):
            batch.append(list(group))
            if sum(len(g) for g in batch) >= BATCH:
                self._flush(batch)
                batch = []
        self._flush(batch)
        return self

    def _flush(self, groups: list[list[_Row]]) -> None:
        ids = {int(c) for group in groups for c in group[0].candidate_ids}
        self.candidates = {
            pk: (model_config_id, model_name, length)
            for pk, model_config_id, model_name, length in Candidate.objects.filter(pk__in=ids)
            .annotate(length=Length("content"))
            .values_list("pk", "model_config_id", "model_name", "length")
        }
        for group in groups:
            self._item(group)

    def model_key(self, cid: str) -> str | None:
        info = self.candidates.get(int(cid))
        if info is None:
            return None
        if info[0] is not None:
            return f"config:{info[0]}"
        return f"model:{info[1]}" if info[1] else None

    def _item(self, group: list[_Row]) -> None:
        for row in group:
            who = self.labelers[row.user_id]
            who.labels += 1
            who.times.append(row.time_on_task_ms)
            who.first = row.created_at if who.first is None or row.created_at < who.first else who.first
            who.last = row.created_at if who.last is None or row.created_at > who.last else who.last
        if group[0].kind != "comparison":
            self.demonstrations += len(group)
            for row in group:
                self.labelers[row.user_id].demonstrations += 1
            return
        self.comparisons += len(group)
        item_ids = [str(c) for c in group[0].candidate_ids]
        for row in group:
            self._comparison(row, item_ids)
        answered = [(self.versions[r.version_id][0], r.track, r.ratings, r.flags) for r in group]
        self.answers.add_item(item_ids, answered, self.model_key)
        if len(group) >= 2:
            self._agreement(group)

    def _comparison(self, row: _Row, item_ids: list[str]) -> None:
        who = self.labelers[row.user_id]
        who.comparisons += 1
        schema = self.versions[row.version_id][1]
        if row.work_item_id in self.gold:
            who.gold_total += 1
            who.gold_correct += _gold_ok(self.gold[row.work_item_id], row, item_ids, schema)
        if row.all_bad:
            self.all_bad += 1
        elif row.ranks:
            self._preferences(who, row)
        if row.strength:
            self.strength[row.strength] += 1
            self.unsure += row.strength in unsure_levels(schema)
        self._per_candidate(row, item_ids, flags_asked=_asks_flags(schema, row.track))

    def _preferences(self, who: _Labeler, row: _Row) -> None:
        ranks = row.ranks
        who.positions.append(([str(c) for c in row.display_order], ranks))
        # Length bias: one pair per label (best against worst), so pairs are independent.
        best = min(ranks, key=lambda c: (ranks[c], metrics.candidate_order_key(c)))
        worst = max(ranks, key=lambda c: (ranks[c], metrics.candidate_order_key(c)))
        if ranks[best] < ranks[worst]:
            lengths = self.candidates.get(int(best), (None,) * 3)[2], self.candidates.get(int(worst), (None,) * 3)[2]
            if None not in lengths:
                who.lengths.append(lengths)
        for (a, b), sign in metrics.pair_preferences(ranks).items():
            ma, mb = self.model_key(a), self.model_key(b)
            if not ma or not mb or ma == mb:
                continue
            if sign == 0:
                self.ties.append((ma, mb))
            else:
                self.games.append((ma, mb) if sign > 0 else (mb, ma))

    def _per_candidate(self, row: _Row, item_ids: list[str], *, flags_asked: bool) -> None:
        for cid in item_ids:
            ticked = (row.flags or {}).get(cid) or []
            for flag in ticked:
                self.flags[flag] += 1
            verdict = (row.safety or {}).get(cid)
            if verdict:
                self.safety[verdict] += 1
            key = self.model_key(cid)
            if key:
                stats = self.per_model[key]
                stats["judged"] += flags_asked
                stats["flagged"] += bool(ticked)
                if verdict:
                    stats["verdicts"] += 1
                    stats["unsafe"] += verdict == "unsafe"

    def _agreement(self, group: list[_Row]) -> None:
        # "All bad" expresses no preference: an empty ranking, which no agreement counts.
        rankings = [(row.user_id, row.version, {} if row.all_bad else (row.ranks or {})) for row in group]
        every = [ranks for _u, _v, ranks in rankings]
        _add_share(metrics.pairwise_agreement([every]), self.overall, self.by_track[group[0].track])
        for version in {v for _u, v, _r in rankings}:
            same = [ranks for _u, v, ranks in rankings if v == version]
            if len(same) >= 2:
                _add_share(metrics.pairwise_agreement([same]), self.by_version[version])
        tau = metrics.mean_pairwise_kendall_tau([every])
        self.tau_sum += float(tau.item_sums[0]) if tau.pairs else 0.0
        self.tau_pairs += tau.pairs
        for user, share in metrics.leave_one_out_agreement([{u: r for u, _v, r in rankings}]).items():
            self.loo[user][0] += share.agreements
            self.loo[user][1] += share.comparisons

    def result(self) -> dict:
        questions = self.answers.agreement()
        leaderboard, win_matrix = _leaderboard(
            self.games, self.ties, self.per_model, _config_keys(self.project), self.answers.model_means
        )
        schemas = self.schemas
        return {
            "labels": self.comparisons + self.demonstrations,
            "comparisons": self.comparisons,
            "demonstrations": self.demonstrations,
            "progress": _progress(self.project),
            "agreement": {
                "pairwise": _interval(*self.overall),
                "kendall_tau": {
                    "value": self.tau_sum / self.tau_pairs if self.tau_pairs else None,
                    "pairs": self.tau_pairs,
                },
                "alpha": {row["key"]: row["value"] for row in questions},
                "questions": questions,
                "by_guideline_version": {
                    str(v): _interval(*self.by_version[v], seed=v) for v in sorted(self.by_version)
                },
                "by_track": {t: _interval(*self.by_track[t]) for t in sorted(self.by_track)},
                "track_labels": {t.name: t.label for n in sorted(schemas) for t in schemas[n].tracks},
            },
            "labelers": self._labeler_rows(),
            "distributions": {
                "questions": self.answers.distributions(),
                "strength": dict(self.strength),
                "strength_levels": _strength_levels(schemas),
                "unsure": self.unsure,
                "asked": {  # what any version's schema asks (the pages leave out the rest)
                    "safety": any(schema.safety_enabled for schema in schemas.values()),
                    "all_bad": any(schema.ranking and schema.all_bad for schema in schemas.values()),
                },
                "flags": dict(self.flags.most_common()),
                "safety": dict(self.safety),
                "all_bad": self.all_bad,
            },
            "leaderboard": leaderboard,
            "leaderboard_scales": self.answers.scale_columns(),
            "win_matrix": win_matrix,
            "schema_versions": [{"version": n, "digest": s.digest()} for n, s in sorted(schemas.items())],
            "rules": dict(RULES),
        }

    def _labeler_rows(self) -> list[dict]:
        skips = _skip_rates(self.project)
        times = [t for who in self.labelers.values() for t in who.times]
        project_median = statistics.median(times) if times else None
        usernames = dict(Label.objects.filter(project=self.project).values_list("user_id", "user__username").distinct())
        return [
            _labeler_row(
                user_id, usernames.get(user_id, ""), who, self.loo.get(user_id), skips.get(user_id), project_median
            )
            for user_id, who in sorted(self.labelers.items())
        ]


RULES = {
    "min_labels": MIN_LABELS,
    "too_fast_share_of_median": TOO_FAST_SHARE,
    "too_fast_ms": TOO_FAST_MS,
    "bias_p": BIAS_P,
    "position_bias_gap": POSITION_BIAS_GAP,
    "length_bias_gap": LENGTH_BIAS_GAP,
    "min_gold": MIN_GOLD,
    "low_gold_accuracy": LOW_GOLD_ACCURACY,
    "min_agreement_pairs": MIN_AGREEMENT_PAIRS,
    "low_agreement": LOW_AGREEMENT,
    "min_agreement_items": MIN_AGREEMENT_ITEMS,
    "min_comparisons": MIN_COMPARISONS,
}


def _item_of(row: _Row) -> int:
    return row.work_item_id


def _add_share(agreement, *buckets) -> None:
    """Add one item's agreements / comparisons to each (numerators, denominators) bucket."""
    if agreement.comparisons:
        for numerators, denominators in buckets:
            numerators.append(agreement.agreements)
            denominators.append(agreement.comparisons)


def _asks_flags(schema, track: str) -> bool:
    """Does the label's schema ask the flags question (Label.flags) on its track? (A model's flag rate
    counts only those labels.)"""
    question = schema.question(FLAGS)
    return question is not None and question.applies_to(track)


def _strength_levels(schemas: dict) -> list[dict]:
    """The strength levels of the schemas labels were made under (latest wording first), each with
    whether it means "unsure" (margin 0)."""
    levels: dict[str, dict] = {}
    for number in sorted(schemas, reverse=True):
        for level in schemas[number].strength_levels:
            levels.setdefault(level.name, {"name": level.name, "label": level.label, "margin": level.margin})
    return [row | {"unsure": row["margin"] == 0} for row in levels.values()]


def _gold_ok(gold: GoldStandard, row: _Row, item_ids: list[str], schema) -> bool:
    """A comparison label (a stats row) against its item's gold, read with the label's own schema."""
    from .services import gold_correct

    answers = {cid: answers_of(row.ratings, row.flags, cid) for cid in item_ids}
    return gold_correct(
        gold, ranks=row.ranks or {}, answers=answers, all_bad=row.all_bad, schema=schema, track=row.track
    )


def _skip_rates(project: Project) -> dict[int, float]:
    rows = (
        Assignment.objects.filter(
            work_item__project=project, status__in=[AssignmentStatus.SKIPPED, AssignmentStatus.SUBMITTED]
        )
        .values("user_id", "status")
        .annotate(n=Count("id"))
    )
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        totals[row["user_id"]][1] += row["n"]
        if row["status"] == AssignmentStatus.SKIPPED:
            totals[row["user_id"]][0] += row["n"]
    return {user: skipped / total for user, (skipped, total) in totals.items() if total}


def _progress(project: Project) -> list[dict]:
    rows = (
        Label.objects.filter(project=project)
        .exclude(review_status=ReviewStatus.REJECTED)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    out, cumulative = [], 0
    for row in rows:
        cumulative += row["n"]
        out.append({"date": row["day"].isoformat(), "labels": row["n"], "cumulative": cumulative})
    return out


def _labeler_row(user_id, username, who: _Labeler, loo, skip_rate, project_median) -> dict:
    median = statistics.median(who.times) if who.times else None
    hours = sum(who.times) / 3_600_000
    position = asdict(metrics.position_bias(who.positions)) if who.positions else None
    length = asdict(metrics.length_bias(who.lengths)) if who.lengths else None
    agreement = {"value": loo[0] / loo[1] if loo and loo[1] else None, "n": loo[1] if loo else 0}
    gold = {"accuracy": who.gold_correct / who.gold_total if who.gold_total else None, "n": who.gold_total}
    flags = []
    enough = who.labels >= MIN_LABELS
    if (
        enough
        and median is not None
        and (median < TOO_FAST_MS or (project_median and median < TOO_FAST_SHARE * project_median))
    ):
        flags.append("too_fast")
    if (
        position
        and position["n"] >= MIN_LABELS
        and position["p_value"] is not None
        and position["p_value"] < BIAS_P
        and position["observed"] - position["expected"] >= POSITION_BIAS_GAP
    ):
        flags.append("position_bias")
    if (
        length
        and length["n"] >= MIN_LABELS
        and length["p_value"] < BIAS_P
        and abs(length["share"] - 0.5) >= LENGTH_BIAS_GAP
    ):
        flags.append("length_bias")
    if gold["n"] >= MIN_GOLD and gold["accuracy"] < LOW_GOLD_ACCURACY:
        flags.append("low_gold_accuracy")
    if agreement["n"] >= MIN_AGREEMENT_PAIRS and agreement["value"] < LOW_AGREEMENT:
        flags.append("low_agreement")
    return {
        "labeler_id": user_id,
        "username": username,
        "labels": who.labels,
        "demonstrations": who.demonstrations,
        "comparisons": who.comparisons,
        "median_time_ms": median,
        "labels_per_hour": who.labels / hours if hours else None,
        "skip_rate": skip_rate,
        "position_bias": position,
        "length_bias": length,
        "agreement": agreement,
        "gold": gold,
        "first_label_at": who.first.isoformat() if who.first else None,
        "last_label_at": who.last.isoformat() if who.last else None,
        "flags": flags,
    }


def _model_name(key: str, configs: dict) -> str:
    kind, _, value = key.partition(":")
    if kind == "config":
        return configs.get(int(value), f"config {value}")
    return value


def _leaderboard(games, ties, per_model, configs, means) -> tuple[list[dict], dict | None]:
    players = sorted(set(per_model) | {p for g in games for p in g} | {p for t in ties for p in t})
    if not players:
        return [], None
    comparisons = list(games) + [(a, b, 0.5) for a, b in ties]
    fitted = {}
    if comparisons:
        for row in metrics.bradley_terry_bootstrap(comparisons, players=players, n_resamples=200, seed=0):
            fitted[row.player] = {"score": row.score, "low": row.low, "high": row.high, "rank_ub": row.rank_ub}
    rates = metrics.win_rate_matrix(comparisons, players=players) if comparisons else None
    rows = []
    for key in players:
        stats = per_model.get(key, {"judged": 0, "flagged": 0, "unsafe": 0, "verdicts": 0})
        fit = fitted.get(key, {})
        played = sum(1 for g in games if key in g) + sum(1 for t in ties if key in t)
        won = sum(1 for g in games if g[0] == key) + 0.5 * sum(1 for t in ties if key in t)
        win_low, win_high = metrics.wilson_interval(won, played)
        rows.append(
            {
                "key": key,
                "name": _model_name(key, configs),
                "config_id": int(key.split(":")[1]) if key.startswith("config:") else None,
                "score": fit.get("score"),
                "low": fit.get("low"),
                "high": fit.get("high"),
                "rank_ub": fit.get("rank_ub"),
                "comparisons": played,
                "enough_data": played >= MIN_COMPARISONS,
                "win_rate": won / played if played else None,
                "win_rate_low": win_low,
                "win_rate_high": win_high,
                "axes": means(key),
                "flag_rate": stats["flagged"] / stats["judged"] if stats["judged"] else None,
                "unsafe_rate": stats["unsafe"] / stats["verdicts"] if stats["verdicts"] else None,
            }
        )
    rows.sort(key=lambda r: (not r["enough_data"], r["score"] is None, -(r["score"] or 0), r["name"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    matrix = None
    if rates is not None:
        matrix = {
            "players": [_model_name(p, configs) for p in rates.players],
            "keys": list(rates.players),
            "share": [[None if v != v else round(float(v), 4) for v in row] for row in rates.share],
            "games": [[int(v) for v in row] for row in rates.games],
        }
    return rows, matrix
