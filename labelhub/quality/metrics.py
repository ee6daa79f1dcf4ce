"""Quality statistics for preference labels: agreement, Bradley–Terry scores, bootstrap intervals, biases.

Pure functions (no Django, no database, no I/O; numpy only). Conventions:

* A *ranking* is ``{candidate_id: rank}`` with 1 = best; tied candidates share a rank
  (``{"11": 1, "12": 1, "13": 2}``). An "all bad" label has the empty ranking ``{}`` and expresses no
  preference: it contributes no pair, no comparison and no vote anywhere below.
* Candidate ids are ordered by :func:`candidate_order_key`: numerically when they are ASCII digits
  ("9" < "10"), after them the others as strings.
* An *item* is what several labelers ranked: either a list of rankings or ``{labeler_id: ranking}``.
* Undefined statistics are ``None`` (never NaN), except inside numpy matrices, where NaN marks "no data".

Public API
----------
Rankings
    ``candidate_order_key(candidate_id)`` – sort key for candidate ids.
    ``pair_preferences(ranks)`` – ``{(a, b): +1 | 0 | -1}`` for every candidate pair, a before b.
    ``preference_length_pairs(ranks, lengths)`` – ``(len_better, len_worse)`` for strictly ordered pairs.
Agreement between labelers
    ``pairwise_agreement(items)`` – InstructGPT-style share of agreeing pairwise preferences, per item too.
    ``leave_one_out_agreement(items)`` – per labeler, agreement with the majority of the other labelers.
    ``kendall_tau_b(x, y)`` – Kendall's tau-b of two rankings (= ``scipy.stats.kendalltau``).
    ``mean_pairwise_kendall_tau(items)`` – mean tau-b over all labeler pairs of all items, per item too.
    ``krippendorff_alpha(reliability_data, level=...)`` – Krippendorff's alpha of a coders × units matrix;
    ``krippendorff_alpha_ordinal`` / ``krippendorff_alpha_interval`` are shorthands and
    ``krippendorff_alpha_long(units, values, level=...)`` takes one row per value instead of a matrix,
    ``krippendorff_alpha_counts(value_counts, values, level=...)`` a units × values matrix of counts.
Confidence intervals
    ``bootstrap_ci(units, statistic, ...)`` – percentile bootstrap of any statistic over units (clusters).
    ``bootstrap_ratio_ci(numerators, denominators, ...)`` – the same for Σ numerators / Σ denominators,
    vectorised (100k units × 1000 resamples: < 0.1 s for count data, ~1.5 s for arbitrary floats).
    ``wilson_interval(successes, n, ...)`` – Wilson score interval of a proportion: never zero-width,
    even for 6 successes out of 6 (a bootstrap of identical outcomes collapses to a point).
Bradley–Terry (Chatbot Arena-style leaderboards; comparisons are ``(winner, loser)`` or ``(a, b, score_a)``,
or a ``wins=`` matrix)
    ``bradley_terry(comparisons, players, ...)`` – penalised MLE scores, ``1000 + 400·log10(odds)`` scale
    with mean 1000; P(a beats b) = 1 / (1 + 10^((score_b - score_a)/400)).
    ``bradley_terry_bootstrap(comparisons, players, ...)`` – scores with intervals (the wider of the
    percentile bootstrap and the normal approximation of the penalised fit) and ranks.
    ``win_rate_matrix(comparisons, players, ...)`` – pairwise win shares and game counts.
    ``elo_win_probability(score_a, score_b)`` – the model's probability that a beats b.
Biases of a labeler (call once per labeler)
    ``position_bias(labels)`` – is the first-shown candidate ranked best more often than chance?
    ``length_bias(pairs)`` – is the longer candidate preferred more often than half the time?
    ``binomial_two_sided_p(k, n, p)`` – exact two-sided binomial test (= ``scipy.stats.binomtest``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "ELO_BASE",
    "ELO_SCALE",
    "AlphaLevel",
    "BradleyTerryFit",
    "BradleyTerryRow",
    "Comparison",
    "Item",
    "KendallTauSummary",
    "LabelerAgreement",
    "LengthBias",
    "PairwiseAgreement",
    "PositionBias",
    "Ranking",
    "WinRates",
    "binomial_two_sided_p",
    "bootstrap_ci",
    "bootstrap_ratio_ci",
    "bradley_terry",
    "bradley_terry_bootstrap",
    "candidate_order_key",
    "elo_win_probability",
    "kendall_tau_b",
    "krippendorff_alpha",
    "krippendorff_alpha_counts",
    "krippendorff_alpha_interval",
    "krippendorff_alpha_long",
    "krippendorff_alpha_ordinal",
    "leave_one_out_agreement",
    "length_bias",
    "mean_pairwise_kendall_tau",
    "pair_preferences",
    "pairwise_agreement",
    "position_bias",
    "preference_length_pairs",
    "wilson_interval",
    "win_rate_matrix",
]

Ranking = Mapping[str, int]
"""``{candidate_id: rank}``, 1 = best, ties share a rank; ``{}`` = "all bad" (no preference)."""

Item = Sequence[Ranking] | Mapping[Hashable, Ranking]
"""The rankings several labelers gave to one item: a list, or ``{labeler_id: ranking}``."""

AlphaLevel = Literal["nominal", "ordinal", "interval"]

L = TypeVar("L", bound=Hashable)
P = TypeVar("P", bound=Hashable)
U = TypeVar("U")

ELO_BASE = 1000.0
"""Mean Bradley–Terry score of the players that played."""
ELO_SCALE = 400.0 / math.log(10.0)
"""Score points per unit of log-odds: a 400-point lead means 10:1 odds of winning."""


# --------------------------------------------------------------------------------------------------
# Rankings
# --------------------------------------------------------------------------------------------------


def candidate_order_key(candidate_id: Hashable) -> tuple[int, int, str]:
    """Sort key for candidate (or player) ids: ids made of ASCII digits first, by number ("9" < "10"),
    then every other id by its string ("a" < "b"). The string breaks ties between equal numbers
    ("011" < "11"), so the order is total and the same on every run. Non-strings use ``str(id)``."""
    text = str(candidate_id)
    if text.isascii() and text.isdigit():
        return (0, int(text), text)
    return (1, 0, text)


def pair_preferences(ranks: Ranking) -> dict[tuple[str, str], int]:
    """Pairwise preferences implied by a ranking.

    For every unordered pair of ranked candidates, keyed ``(a, b)`` with a before b in
    :func:`candidate_order_key` order: ``+1`` if a is ranked better (smaller rank) than b, ``-1`` if b is,
    ``0`` if they share a rank. ``{}`` (all bad) and one-candidate rankings give ``{}``.

    >>> pair_preferences({"13": 2, "11": 1, "12": 1})
    {('11', '12'): 0, ('11', '13'): 1, ('12', '13'): 1}
    """
    return _pair_signs(ranks, sorted(ranks, key=candidate_order_key))


def _pair_signs(ranks: Ranking, ids: list) -> dict[tuple[Any, Any], int]:
    """+1 / -1 / 0 for every pair (a, b) of `ids`, a before b."""
    out: dict[tuple[Any, Any], int] = {}
    for i, a in enumerate(ids):
        rank_a = ranks[a]
        for b in ids[i + 1 :]:
            rank_b = ranks[b]
            out[(a, b)] = 1 if rank_a < rank_b else -1 if rank_a > rank_b else 0
    return out


def preference_length_pairs(
    ranks: Ranking, lengths: Mapping[str, int | float]
) -> list[tuple[int | float, int | float]]:
    """``(length of the better, length of the worse)`` for every strictly ordered pair of a ranking.

    Tied pairs are left out (no preference). Candidates missing from ``lengths`` raise ``KeyError``.
    The result is the input of :func:`length_bias`. Pairs in :func:`pair_preferences` order."""
    out: list[tuple[int | float, int | float]] = []
    for (a, b), sign in pair_preferences(ranks).items():
        if sign > 0:
            out.append((lengths[a], lengths[b]))
        elif sign < 0:
            out.append((lengths[b], lengths[a]))
    return out


def _item_rankings(item: Item) -> list[Ranking]:
    return list(item.values()) if isinstance(item, Mapping) else list(item)


# --------------------------------------------------------------------------------------------------
# Agreement between labelers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairwiseAgreement:
    """Result of :func:`pairwise_agreement`. ``item_agreements[i] / item_comparisons[i]`` is item i's
    contribution (aligned with the input); pass both arrays to :func:`bootstrap_ratio_ci` for an interval
    that resamples items."""

    agreement: float | None
    """``agreements / comparisons``; ``None`` without comparisons."""
    agreements: int
    comparisons: int
    item_agreements: npt.NDArray[np.int64]
    item_comparisons: npt.NDArray[np.int64]


def pairwise_agreement(items: Iterable[Item]) -> PairwiseAgreement:
    """Inter-annotator agreement on pairwise preferences, as InstructGPT reports it.

    One *comparison* per item, per unordered pair of labelers of that item, per candidate pair that both
    labelers ranked. It *agrees* when both preference signs (:func:`pair_preferences`) are equal: both
    prefer the same candidate, or both tie them. ``agreement = agreements / comparisons``, i.e. every
    comparison weighs the same (items with more labelers or candidates weigh more).

    Empty rankings ("all bad") and items with fewer than two non-empty rankings contribute nothing.

    >>> pairwise_agreement([[{"1": 1, "2": 2}, {"1": 1, "2": 1}]]).agreement
    0.0
    """
    item_agreements: list[int] = []
    item_comparisons: list[int] = []
    for item in items:
        rankings = [ranks for ranks in _item_rankings(item) if len(ranks) >= 2]
        agreements = comparisons = 0
        for i, first in enumerate(rankings):
            for second in rankings[i + 1 :]:
                common = [c for c in first if c in second]
                xs = [first[c] for c in common]
                ys = [second[c] for c in common]
                k = len(common)
                comparisons += k * (k - 1) // 2
                for p in range(k):
                    xp, yp = xs[p], ys[p]
                    for q in range(p + 1, k):
                        # Same sign <=> the same answer to "smaller?" and to "larger?".
                        if (xp < xs[q]) == (yp < ys[q]) and (xp > xs[q]) == (yp > ys[q]):
                            agreements += 1
        item_agreements.append(agreements)
        item_comparisons.append(comparisons)
    agreements_total = sum(item_agreements)
    comparisons_total = sum(item_comparisons)
    return PairwiseAgreement(
        agreement=agreements_total / comparisons_total if comparisons_total else None,
        agreements=agreements_total,
        comparisons=comparisons_total,
        item_agreements=np.asarray(item_agreements, dtype=np.int64),
        item_comparisons=np.asarray(item_comparisons, dtype=np.int64),
    )


@dataclass(frozen=True)
class LabelerAgreement:
    """One labeler's leave-one-out agreement (see :func:`leave_one_out_agreement`)."""

    agreements: int
    comparisons: int

    @property
    def share(self) -> float | None:
        """``agreements / comparisons``; ``None`` without comparisons."""
        return self.agreements / self.comparisons if self.comparisons else None


def leave_one_out_agreement(items: Iterable[Mapping[L, Ranking]]) -> dict[L, LabelerAgreement]:
    """Per labeler: how often the labeler agrees with the consensus of the *other* labelers of an item.

    For labeler L, an item and a candidate pair L ranked: the others' votes are the preference signs
    (+1, 0 = tie, -1; :func:`pair_preferences`) of the other labelers who ranked both candidates. The
    consensus is the sign with strictly the most votes (a plurality; a tie is a sign like the others).
    Without votes, or when the top vote count is shared (e.g. +1 vs -1, or +1 vs 0), there is no
    consensus and the pair is skipped. Otherwise it is one comparison, and an agreement when L's sign
    equals the consensus.

    Every labeler in the input is in the result, with ``(0, 0)`` if never compared (e.g. only labeler of
    their items, or only "all bad" labels).
    """
    totals: dict[L, list[int]] = {}
    for item in items:
        for labeler in item:
            totals.setdefault(labeler, [0, 0])
        if len(item) < 2:
            continue
        prefs = [(labeler, _signs(ranks)) for labeler, ranks in item.items() if len(ranks) >= 2]
        votes: dict[tuple[Any, Any], list[int]] = {}  # pair -> votes for [-1, 0, +1]
        for _, pairs in prefs:
            for pair, sign in pairs.items():
                if pair in votes:
                    votes[pair][sign + 1] += 1
                else:
                    tally = [0, 0, 0]
                    tally[sign + 1] = 1
                    votes[pair] = tally
        for labeler, pairs in prefs:
            total = totals[labeler]
            for pair, sign in pairs.items():
                neg, tie, pos = votes[pair]
                if sign < 0:
                    neg -= 1
                elif sign > 0:
                    pos -= 1
                else:
                    tie -= 1
                if pos > neg and pos > tie:
                    consensus = 1
                elif neg > pos and neg > tie:
                    consensus = -1
                elif tie > pos and tie > neg:
                    consensus = 0
                else:
                    continue  # no other vote, or the top count is shared
                total[1] += 1
                if sign == consensus:
                    total[0] += 1
    return {labeler: LabelerAgreement(agreements=a, comparisons=c) for labeler, (a, c) in totals.items()}


def _signs(ranks: Ranking) -> dict[tuple[Any, Any], int]:
    """:func:`pair_preferences` in plain sorted order (cheaper; only for matching pairs internally)."""
    try:
        ids = sorted(ranks)
    except TypeError:
        ids = sorted(ranks, key=candidate_order_key)
    return _pair_signs(ranks, ids)


def kendall_tau_b(x: Ranking | Sequence[float], y: Ranking | Sequence[float]) -> float | None:
    """Kendall's tau-b between two rankings.

    ``x`` and ``y`` are either two rankings (dicts; only the candidates ranked in both are used) or two
    equally long sequences of numbers (paired by position). Over all pairs i < j, with
    ``sx = sign(x_i - x_j)`` and ``sy = sign(y_i - y_j)``::

        tau_b = Σ sx·sy / sqrt(Σ sx²) / sqrt(Σ sy²)

    i.e. (concordant - discordant) / sqrt((n0 - ties_x)(n0 - ties_y)), clipped to [-1, 1]. Equals
    ``scipy.stats.kendalltau(x, y).statistic`` (variant "b") up to the last bit: scipy divides by the two
    roots in turn, one root of the product gives exactly ±1 for equal or reversed rankings.

    ``None`` when undefined: fewer than two common candidates, or one side ties everything. The rank
    direction does not matter as long as both sides use the same. NaN raises ``ValueError``. O(n²):
    meant for rankings and moderate sequences.
    """
    if isinstance(x, Mapping) or isinstance(y, Mapping):
        if not (isinstance(x, Mapping) and isinstance(y, Mapping)):
            raise TypeError("kendall_tau_b: pass two rankings or two sequences, not one of each")
        common = [c for c in x if c in y]
        xs = [float(x[c]) for c in common]
        ys = [float(y[c]) for c in common]
    else:
        xs, ys = [float(v) for v in x], [float(v) for v in y]
        if len(xs) != len(ys):
            raise ValueError(f"kendall_tau_b: sequences of different lengths ({len(xs)} and {len(ys)})")
    if any(math.isnan(v) for v in xs) or any(math.isnan(v) for v in ys):
        raise ValueError("kendall_tau_b: NaN in the input")
    n = len(xs)
    if n < 2:
        return None
    if n <= 64:
        return _tau_b_small(xs, ys)
    else:
        ax = np.asarray(xs, dtype=float)
        ay = np.asarray(ys, dtype=float)
        s = untied_x = untied_y = 0
        block = max(1, 2_000_000 // n)
        for start in range(0, n - 1, block):
            stop = min(start + block, n - 1)
            rows = np.arange(start, stop)
            sx = np.sign(ax[rows, None] - ax[None, :])
            sy = np.sign(ay[rows, None] - ay[None, :])
            upper = np.arange(n)[None, :] > rows[:, None]
            sx *= upper
            sy *= upper
            s += int((sx * sy).sum())
            untied_x += int(np.count_nonzero(sx))
            untied_y += int(np.count_nonzero(sy))
    return _tau_b_ratio(s, untied_x, untied_y)


def _tau_b_small(xs: Sequence[Any], ys: Sequence[Any]) -> float | None:
    s = untied_x = untied_y = 0
    n = len(xs)
    for i in range(n):
        xi, yi = xs[i], ys[i]
        for j in range(i + 1, n):
            xj, yj = xs[j], ys[j]
            sx = 1 if xi > xj else -1 if xi < xj else 0
            sy = 1 if yi > yj else -1 if yi < yj else 0
            if sx:
                untied_x += 1
            if sy:
                untied_y += 1
            s += sx * sy
    return _tau_b_ratio(s, untied_x, untied_y)


def _tau_b_ratio(s: int, untied_x: int, untied_y: int) -> float | None:
    if untied_x == 0 or untied_y == 0:
        return None
    # One square root of the exact integer product: identical rankings give exactly 1.0.
    return min(1.0, max(-1.0, s / math.sqrt(untied_x * untied_y)))


@dataclass(frozen=True)
class KendallTauSummary:
    """Result of :func:`mean_pairwise_kendall_tau`. ``item_sums[i] / item_counts[i]`` is item i's mean
    (aligned with the input); pass both arrays to :func:`bootstrap_ratio_ci` to resample items."""

    mean: float | None
    """Mean tau-b over all defined (item, labeler pair) values; ``None`` if there is none."""
    pairs: int
    """Number of defined (item, labeler pair) values averaged."""
    item_sums: npt.NDArray[np.float64]
    item_counts: npt.NDArray[np.int64]


def mean_pairwise_kendall_tau(items: Iterable[Item]) -> KendallTauSummary:
    """Mean Kendall tau-b between labelers: for every item and every unordered pair of its labelers,
    :func:`kendall_tau_b` over the candidates both ranked; pairs where it is undefined (fewer than two
    common candidates, "all bad", or a labeler who tied everything) are skipped. The mean is pooled over
    all (item, pair) values, each weighing the same."""
    sums: list[float] = []
    counts: list[int] = []
    for item in items:
        rankings = [ranks for ranks in _item_rankings(item) if len(ranks) >= 2]
        total = 0.0
        count = 0
        for i, first in enumerate(rankings):
            for second in rankings[i + 1 :]:
                common = [c for c in first if c in second]
                tau = _tau_b_small([first[c] for c in common], [second[c] for c in common])
                if tau is not None:
                    total += tau
                    count += 1
        sums.append(total)
        counts.append(count)
    pairs = sum(counts)
    return KendallTauSummary(
        mean=math.fsum(sums) / pairs if pairs else None,
        pairs=pairs,
        item_sums=np.asarray(sums, dtype=np.float64),
        item_counts=np.asarray(counts, dtype=np.int64),
    )


# --------------------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------------------


def krippendorff_alpha(
    reliability_data: npt.ArrayLike | Sequence[Sequence[float | None]],
    *,
    level: AlphaLevel = "ordinal",
) -> float | None:
    """Krippendorff's alpha of a coders × units matrix; ``None`` (or NaN) marks a missing value.

    Definition (Krippendorff 2011, coincidence matrix). Only *pairable* values count: those in units
    with at least two values; n is their number, m_u the number of values in unit u, n_c the number of
    pairable values equal to c. The coincidences are ``o_ck = Σ_u (#ordered pairs of different coders in
    u with values (c, k)) / (m_u - 1)``, and::

        alpha = 1 - D_o / D_e = 1 - (n - 1) · Σ_ck o_ck δ²_ck / Σ_ck n_c n_k δ²_ck

    with the distance δ²_ck:

    * nominal: 1 if c ≠ k else 0;
    * interval: (c - k)²;
    * ordinal: (Σ_{g=c..k} n_g - (n_c + n_k)/2)², for c ≤ k over the ordered values.

    Computed in O(n log n) without the V × V matrix: the ordinal distance is the interval distance
    between the values' mid-rank positions t_c = Σ_{g<c} n_g + n_c/2, and for interval-type distances
    Σ_ck o_ck δ²_ck = 2 Σ_u m_u/(m_u - 1) · SS_u and Σ_ck n_c n_k δ²_ck = 2 n · SS, with SS_u and SS the
    sums of squared deviations from the unit mean and from the overall mean. Nominal uses the per-unit
    value counts directly. Matches ``krippendorff.alpha(..., level_of_measurement=level)``.

    ``None`` when undefined: fewer than two pairable values, or all pairable values equal.
    """
    data = np.asarray(reliability_data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"krippendorff_alpha: expected a coders × units matrix, got {data.ndim} dimension(s)")
    _, units = np.nonzero(~np.isnan(data))
    values = data[~np.isnan(data)]  # same row-major order as np.nonzero
    return _alpha(units, values, level)


def krippendorff_alpha_ordinal(reliability_data: npt.ArrayLike | Sequence[Sequence[float | None]]) -> float | None:
    """:func:`krippendorff_alpha` with the ordinal metric (e.g. Likert ratings)."""
    return krippendorff_alpha(reliability_data, level="ordinal")


def krippendorff_alpha_interval(reliability_data: npt.ArrayLike | Sequence[Sequence[float | None]]) -> float | None:
    """:func:`krippendorff_alpha` with the interval metric (squared differences)."""
    return krippendorff_alpha(reliability_data, level="interval")


def krippendorff_alpha_long(
    units: Sequence[Hashable] | npt.ArrayLike,
    values: Sequence[float | None] | npt.ArrayLike,
    *,
    level: AlphaLevel = "ordinal",
) -> float | None:
    """:func:`krippendorff_alpha` from long-format data: one entry per value given, ``units[i]`` the unit
    (e.g. item id) of ``values[i]``; ``None``/NaN values are ignored. Coders are not needed: alpha only
    pairs values within a unit (each value must come from a different coder)."""
    vals = np.asarray(values, dtype=np.float64)
    keys = np.asarray(units)
    if vals.ndim != 1 or keys.shape != vals.shape:
        raise ValueError("krippendorff_alpha_long: units and values must be 1-D and equally long")
    present = ~np.isnan(vals)
    vals, keys = vals[present], keys[present]
    if keys.dtype == object:
        index: dict[Any, int] = {}
        codes = np.fromiter((index.setdefault(key, len(index)) for key in keys.tolist()), np.int64, keys.size)
    else:
        _, codes = np.unique(keys, return_inverse=True)
    return _alpha(codes.reshape(-1), vals, level)


def krippendorff_alpha_counts(
    value_counts: npt.ArrayLike | Sequence[Sequence[int]],
    values: npt.ArrayLike | Sequence[float] | None = None,
    *,
    level: AlphaLevel = "ordinal",
) -> float | None:
    """:func:`krippendorff_alpha` from a units × values matrix of counts: ``value_counts[u][v]`` coders
    gave unit u the value ``values[v]`` (default ``0, 1, …, V-1``; for Likert 1..7 pass ``range(1, 8)``).
    As ``krippendorff.alpha(value_counts=..., value_domain=values)``."""
    counts = np.asarray(value_counts)
    if counts.ndim != 2:
        raise ValueError("krippendorff_alpha_counts: expected a units × values matrix")
    if counts.size and (np.any(counts < 0) or np.any(counts != np.round(counts))):
        raise ValueError("krippendorff_alpha_counts: counts must be non-negative integers")
    counts = counts.astype(np.int64)
    domain = np.arange(counts.shape[1], dtype=np.float64) if values is None else np.asarray(values, np.float64)
    if domain.shape != (counts.shape[1],):
        raise ValueError("krippendorff_alpha_counts: one value per column")
    units, columns = np.nonzero(counts)
    repeats = counts[units, columns]
    return _alpha(np.repeat(units, repeats), np.repeat(domain[columns], repeats), level)


def _alpha(units: npt.NDArray[np.integer], values: npt.NDArray[np.float64], level: str) -> float | None:
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"krippendorff_alpha: unknown level {level!r}")
    if not np.isfinite(values).all():
        raise ValueError("krippendorff_alpha: values must be finite numbers (None/NaN for missing)")
    if values.size < 2:
        return None
    _, unit_codes, unit_sizes = np.unique(units, return_inverse=True, return_counts=True)
    pairable = unit_sizes[unit_codes] >= 2
    unit_codes, values = unit_codes[pairable], values[pairable]
    n = values.size
    if n < 2:
        return None
    domain, value_codes = np.unique(values, return_inverse=True)
    if domain.size < 2:
        return None
    _, unit_codes = np.unique(unit_codes, return_inverse=True)  # compact to 0..units-1
    m = np.bincount(unit_codes).astype(np.float64)
    if level == "nominal":
        # Ordered pairs with different values: m_u² - Σ_c n_uc² per unit, n² - Σ_c n_c² overall.
        cells, cell_counts = np.unique(unit_codes * np.int64(domain.size) + value_codes, return_counts=True)
        cell_units = cells // domain.size
        same = np.bincount(cell_units, weights=cell_counts.astype(np.float64) ** 2, minlength=m.size)
        observed = float(np.sum((m * m - same) / (m - 1)))
        n_c = np.bincount(value_codes).astype(np.float64)
        expected = float(n) * n - float(np.dot(n_c, n_c))
        return 1.0 - (n - 1) * observed / expected
    if level == "ordinal":
        n_c = np.bincount(value_codes).astype(np.float64)
        positions = np.cumsum(n_c) - n_c / 2.0
        t = positions[value_codes]
    else:
        t = values
    unit_means = np.bincount(unit_codes, weights=t) / m
    ss_units = np.bincount(unit_codes, weights=(t - unit_means[unit_codes]) ** 2)
    within = float(np.sum(m / (m - 1) * ss_units))
    total = float(np.sum((t - t.mean()) ** 2)) * n
    if total == 0.0:  # values differ but are too close for float64 to tell apart
        return None
    return 1.0 - (n - 1) * within / total


# --------------------------------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------------------------------

_RESAMPLE_CELLS = 2_000_000  # indices drawn per chunk (16 MB of int64)


def _check_bootstrap_args(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError("bootstrap: n_resamples must be at least 1")
    if not 0.0 < confidence < 1.0:
        raise ValueError("bootstrap: confidence must be between 0 and 1")


def _resample_indices(rng: np.random.Generator, n_units: int, n_resamples: int) -> Iterator[npt.NDArray[np.int64]]:
    """Chunks of the resampling index matrix (n_resamples × n_units, uniform with replacement)."""
    rows = max(1, _RESAMPLE_CELLS // n_units)
    done = 0
    while done < n_resamples:
        take = min(rows, n_resamples - done)
        yield rng.integers(0, n_units, size=(take, n_units))
        done += take


def percentile_interval(samples: npt.NDArray[np.float64], confidence: float) -> tuple[float | None, float | None]:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return (None, None)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return (float(low), float(high))


def bootstrap_ci(
    units: Sequence[U] | npt.NDArray[Any],
    statistic: Callable[[Any], float | None],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of ``statistic`` over ``units`` (clusters, e.g. items).

    Each resample draws ``len(units)`` units uniformly with replacement (numpy ``default_rng(seed)``)
    and calls ``statistic`` on them: a list of units, or a numpy array (fancy-indexed along axis 0) when
    ``units`` is one. Resamples where the statistic is ``None`` or NaN (undefined) are dropped. Returns the
    ``(1 - confidence)/2`` and ``(1 + confidence)/2`` quantiles (numpy's default linear interpolation)
    of the remaining values; ``(None, None)`` with fewer than two units or no defined resample.

    Deterministic for a seed; uses the same resamples as :func:`bootstrap_ratio_ci` with the same seed and
    number of units (when that one resamples units individually), so a ratio statistic gives identical
    intervals through both.
    """
    _check_bootstrap_args(n_resamples, confidence)
    is_array = isinstance(units, np.ndarray)
    pool: Any = units if is_array else list(units)
    n = len(pool)
    if n < 2:
        return (None, None)
    rng = np.random.default_rng(seed)
    samples = np.full(n_resamples, np.nan)
    i = 0
    for chunk in _resample_indices(rng, n, n_resamples):
        for row in chunk:
            value = statistic(pool[row] if is_array else [pool[j] for j in row])
            if value is not None:
                samples[i] = value
            i += 1
    return percentile_interval(samples, confidence)


def bootstrap_ratio_ci(
    numerators: npt.ArrayLike,
    denominators: npt.ArrayLike,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of ``Σ numerators / Σ denominators``, resampling units (the aligned
    entries, e.g. :attr:`PairwiseAgreement.item_agreements` / ``item_comparisons``) with replacement.

    Resamples whose denominator sum is 0 are dropped; otherwise as :func:`bootstrap_ci` (same quantiles,
    ``(None, None)`` with fewer than two units). Vectorised: when the units take few distinct
    ``(numerator, denominator)`` pairs (at most 1/64 of the units, typical for counts), each resample is
    a multinomial draw of how often each distinct pair is picked, which is the same distribution as
    resampling the units (100k units × 1000 resamples: < 0.1 s); otherwise the index matrix is drawn in
    chunks and gathered (~1.5 s on one slow core). Deterministic for a seed.
    """
    _check_bootstrap_args(n_resamples, confidence)
    num = np.asarray(numerators, dtype=np.float64).reshape(-1)
    den = np.asarray(denominators, dtype=np.float64).reshape(-1)
    if num.shape != den.shape:
        raise ValueError("bootstrap_ratio_ci: numerators and denominators must have the same length")
    n = num.size
    if n < 2:
        return (None, None)
    if not (np.isfinite(num).all() and np.isfinite(den).all()):
        raise ValueError("bootstrap_ratio_ci: numerators and denominators must be finite")
    rng = np.random.default_rng(seed)
    kinds, counts = np.unique(num + 1j * den, return_counts=True)  # distinct (numerator, denominator) pairs
    if kinds.size * 64 <= n:
        picks = rng.multinomial(n, counts / n, size=n_resamples).astype(np.float64)
        num_sums = picks @ kinds.real
        den_sums = picks @ kinds.imag
    else:
        num_sums = np.empty(n_resamples)
        den_sums = np.empty(n_resamples)
        i = 0
        for chunk in _resample_indices(rng, n, n_resamples):
            num_sums[i : i + len(chunk)] = num[chunk].sum(axis=1)
            den_sums[i : i + len(chunk)] = den[chunk].sum(axis=1)
            i += len(chunk)
    ratios = np.divide(num_sums, den_sums, out=np.full(n_resamples, np.nan), where=den_sums != 0)
    return percentile_interval(ratios, confidence)


def _z(confidence: float) -> float:
    """The standard normal quantile of (1 + confidence) / 2 (1.959964 for 0.95), by bisection on erf."""
    low, high = 0.0, 40.0
    for _ in range(100):
        mid = (low + high) / 2.0
        low, high = (mid, high) if math.erf(mid / math.sqrt(2.0)) < confidence else (low, mid)
    return (low + high) / 2.0


def wilson_interval(successes: float, n: float, *, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of the proportion ``successes / n`` (= ``scipy.stats.binomtest(k, n)
    .proportion_ci(method="wilson")`` for whole numbers; a tie may count half a success).

    Unlike the percentile bootstrap it has positive width for every n ≥ 1, including 0 or n successes:
    6 out of 6 gives [0.61, 1]. ``(None, None)`` when n is 0."""
    _check_bootstrap_args(1, confidence)
    if n <= 0:
        return (None, None)
    if not 0.0 <= successes <= n:
        raise ValueError("wilson_interval: successes must be between 0 and n")
    z2 = _z(confidence) ** 2
    p = successes / n
    centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n)
    half = math.sqrt(z2) / (1.0 + z2 / n) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


# --------------------------------------------------------------------------------------------------
# Bradley–Terry
# --------------------------------------------------------------------------------------------------

Comparison = Sequence[Any]
"""``(winner, loser)``, or ``(a, b, score_a)`` with score_a 1 (a won), 0 (b won) or 0.5 (tie)."""


def elo_win_probability(score_a: float, score_b: float) -> float:
    """Probability that a beats b under the Bradley–Terry model on the Elo-like scale:
    ``1 / (1 + 10 ** ((score_b - score_a) / 400))`` (= logistic(θ_a - θ_b) in log-odds units)."""
    return 1.0 / (1.0 + 10.0 ** ((score_b - score_a) / 400.0))


def _player_index(players: Sequence[P] | None, seen: Iterable[P]) -> tuple[tuple[P, ...], dict[P, int]]:
    if players is None:
        order = tuple(sorted(set(seen), key=candidate_order_key))
    else:
        order = tuple(players)
        if len(set(order)) != len(order):
            raise ValueError("bradley_terry: duplicate players")
    return order, {player: i for i, player in enumerate(order)}


def _outcomes(comparisons: Iterable[Comparison], ties: str) -> tuple[list[tuple[Any, Any, float]], list[Any]]:
    """(kept outcomes, every player seen, dropped ties included)."""
    if ties not in ("half", "drop"):
        raise ValueError(f"bradley_terry: ties must be 'half' or 'drop', not {ties!r}")
    if isinstance(comparisons, np.ndarray):
        comparisons = comparisons.tolist()
    out: list[tuple[Any, Any, float]] = []
    seen: list[Any] = []
    for comparison in comparisons:
        if len(comparison) == 2:
            a, b = comparison
            score = 1.0
        elif len(comparison) == 3:
            a, b, score = comparison
            score = float(score)
            if score not in (0.0, 0.5, 1.0):
                raise ValueError(f"bradley_terry: score of a must be 1, 0.5 or 0, not {score!r}")
        else:
            raise ValueError("bradley_terry: a comparison is (winner, loser) or (a, b, score_a)")
        if a == b:
            raise ValueError(f"bradley_terry: {a!r} compared with itself")
        seen += (a, b)
        if score == 0.5 and ties == "drop":
            continue
        out.append((a, b, score))
    return out, seen


def _win_counts(
    comparisons: Iterable[Comparison] | None,
    players: Sequence[P] | None,
    wins: npt.ArrayLike | None,
    ties: str,
) -> tuple[tuple[P, ...], npt.NDArray[np.float64], list[tuple[int, int, float]] | None]:
    """(players, W with W[i, j] = wins of i over j (ties half each), games as index triples or None)."""
    if (comparisons is None) == (wins is None):
        raise ValueError("bradley_terry: pass either comparisons or wins, not both")
    if wins is not None:
        matrix = np.array(wins, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError("bradley_terry: wins must be a square matrix")
        if (matrix < 0).any() or not np.isfinite(matrix).all():
            raise ValueError("bradley_terry: wins must be finite and non-negative")
        order, _ = _player_index(players if players is not None else list(range(matrix.shape[0])), ())
        if len(order) != matrix.shape[0]:
            raise ValueError("bradley_terry: wins must have one row per player")
        np.fill_diagonal(matrix, 0.0)
        return order, matrix, None
    outcomes, seen = _outcomes(comparisons, ties)  # type: ignore[arg-type]
    order, index = _player_index(players, seen)
    unknown = {p for p in seen if p not in index}
    if unknown:
        raise ValueError(f"bradley_terry: players not in the players list: {sorted(map(str, unknown))}")
    games = [(index[a], index[b], score) for a, b, score in outcomes]
    matrix = np.zeros((len(order), len(order)))
    if games:
        arr = np.asarray(games, dtype=np.float64)
        i, j, s = arr[:, 0].astype(np.intp), arr[:, 1].astype(np.intp), arr[:, 2]
        np.add.at(matrix, (i, j), s)
        np.add.at(matrix, (j, i), 1.0 - s)
    return order, matrix, games


def _sigmoid(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _bt_objective(theta: npt.NDArray[np.float64], wins: npt.NDArray[np.float64], prior: float) -> float:
    diff = theta[:, None] - theta[None, :]
    loglik = -float(np.sum(wins * np.logaddexp(0.0, -diff)))
    penalty = 0.5 * prior * float(np.sum(np.logaddexp(0.0, -theta) + np.logaddexp(0.0, theta)))
    return loglik - penalty


def _bt_fit(
    wins: npt.NDArray[np.float64],
    prior: float,
    theta: npt.NDArray[np.float64] | None,
    max_iterations: int,
    tol: float,
) -> tuple[npt.NDArray[np.float64], int, bool]:
    """Newton's method with step halving on the (strictly concave) penalised log-likelihood."""
    games = wins + wins.T
    won = wins.sum(axis=1)
    theta = np.zeros(wins.shape[0]) if theta is None else theta.astype(np.float64, copy=True)
    objective = _bt_objective(theta, wins, prior)
    for iteration in range(1, max_iterations + 1):
        p = _sigmoid(theta[:, None] - theta[None, :])
        s = _sigmoid(theta)
        gradient = won - np.sum(games * p, axis=1) + prior * (0.5 - s)
        weights = games * p * (1.0 - p)
        hessian = np.diag(weights.sum(axis=1) + prior * s * (1.0 - s)) - weights  # minus the Hessian
        step = np.linalg.solve(hessian, gradient)
        t = 1.0
        while True:
            candidate = theta + t * step
            value = _bt_objective(candidate, wins, prior)
            if value >= objective - 1e-12 * abs(objective) or t < 1e-8:
                break
            t *= 0.5
        theta, objective = candidate, value
        if float(np.max(np.abs(t * step), initial=0.0)) < tol:
            return theta, iteration, True
    return theta, max_iterations, False


@dataclass(frozen=True)
class BradleyTerryFit:
    """Result of :func:`bradley_terry`. Players without games have ``None`` score and strength."""

    players: tuple[Hashable, ...]
    scores: dict[Hashable, float | None]
    """Elo-like scores: ``1000 + 400·log10(e)·θ``, θ centred so the mean score of players with games is
    1000. A 400-point lead means 10:1 odds of winning."""
    strengths: dict[Hashable, float | None]
    """θ: log-strengths (natural log-odds units), centred to mean 0 over the players with games."""
    games: dict[Hashable, float]
    """Games played (each comparison counts 1, ties included unless dropped)."""
    iterations: int
    converged: bool

    def win_probability(self, a: Hashable, b: Hashable) -> float | None:
        """Modelled probability that a beats b (``elo_win_probability``); ``None`` if either has no games."""
        score_a, score_b = self.scores[a], self.scores[b]
        if score_a is None or score_b is None:
            return None
        return elo_win_probability(score_a, score_b)


def _check_bt_args(prior: float) -> None:
    if not prior > 0.0:
        raise ValueError("bradley_terry: prior must be positive (it keeps undefeated players finite)")


def _centre(theta: npt.NDArray[np.float64], active: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    return theta - theta[active].mean() if active.any() else theta


def bradley_terry(
    comparisons: Iterable[Comparison] | None = None,
    players: Sequence[P] | None = None,
    *,
    wins: npt.ArrayLike | None = None,
    ties: Literal["half", "drop"] = "half",
    prior: float = 1.0,
    max_iterations: int = 100,
    tol: float = 1e-9,
) -> BradleyTerryFit:
    """Bradley–Terry scores, as on the Chatbot Arena leaderboard.

    Input: ``comparisons``, an iterable of ``(winner, loser)`` or ``(a, b, score_a)`` (score_a 1, 0 or
    0.5 for a tie; numpy arrays of rows work), or ``wins``, a square matrix with ``wins[i][j]`` = games
    player i won against player j (ties as 0.5 each way). ``players`` fixes the order and may list
    players without games; by default the players seen, in :func:`candidate_order_key` order (``0..P-1``
    for a matrix). ``ties="half"`` counts a tie as half a win for each side, ``"drop"`` ignores it.

    Model: P(i beats j) = logistic(θ_i - θ_j). θ maximises the log-likelihood
    ``Σ_ij W_ij log logistic(θ_i - θ_j)`` plus a tiny regulariser: every player also plays ``prior``
    virtual games, half won and half lost, against a virtual player with θ = 0; it keeps players who
    won (or lost) everything finite and separate groups of players comparable, and is negligible
    against real data. Solved by Newton's method with step halving (the objective is strictly concave).
    θ is then centred over the players with games, and ``score = 1000 + 400·θ/ln 10``, so the mean score
    is 1000 and P(a beats b) = 1 / (1 + 10^((score_b - score_a)/400)).

    Dense P × P algebra: meant for up to a few thousand players.
    """
    _check_bt_args(prior)
    order, matrix, _ = _win_counts(comparisons, players, wins, ties)
    return _bt_result(order, matrix, prior, max_iterations, tol)


def _bt_result(
    order: tuple[Hashable, ...],
    matrix: npt.NDArray[np.float64],
    prior: float,
    max_iterations: int,
    tol: float,
) -> BradleyTerryFit:
    games = (matrix + matrix.T).sum(axis=1)
    active = games > 0
    fitted = np.zeros(len(order))
    iterations, converged = 0, True
    if active.any():
        sub = matrix[np.ix_(active, active)]
        fitted[active], iterations, converged = _bt_fit(sub, prior, None, max_iterations, tol)
    centred = _centre(fitted, active)
    return BradleyTerryFit(
        players=order,
        scores={p: float(ELO_BASE + ELO_SCALE * centred[i]) if active[i] else None for i, p in enumerate(order)},
        strengths={p: float(centred[i]) if active[i] else None for i, p in enumerate(order)},
        games={p: float(games[i]) for i, p in enumerate(order)},
        iterations=iterations,
        converged=converged,
    )


@dataclass(frozen=True)
class BradleyTerryRow:
    """One leaderboard row of :func:`bradley_terry_bootstrap`. All ``None`` for a player without games."""

    player: Hashable
    score: float | None
    """Point estimate (:func:`bradley_terry` on all comparisons)."""
    low: float | None
    high: float | None
    """Interval of the score: the wider of the percentile bootstrap and ``score ± z·se`` (the
    curvature of the penalised log-likelihood); never zero-width for a player with games."""
    rank: int | None
    """1 + number of players with a higher score."""
    rank_ub: int | None
    """1 + number of players statistically better (their ``low`` above this player's ``high``), as
    Chatbot Arena's "Rank (UB)"."""
    games: float


def bradley_terry_bootstrap(
    comparisons: Iterable[Comparison] | None = None,
    players: Sequence[P] | None = None,
    *,
    wins: npt.ArrayLike | None = None,
    ties: Literal["half", "drop"] = "half",
    prior: float = 1.0,
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    max_iterations: int = 100,
    tol: float = 1e-9,
) -> list[BradleyTerryRow]:
    """Bradley–Terry scores (:func:`bradley_terry`, same arguments) with intervals.

    Each resample draws as many comparisons as there are, uniformly with replacement, and refits
    (drawn as one multinomial over the distinct outcomes, which is the same distribution). Every
    resample is centred over the players with games in the full data (a player absent from a resample
    sits at the virtual player's θ = 0), so intervals are relative to the field's mean of 1000.

    A bootstrap of a small sample can collapse: 6 comparisons all won by the same player resample to
    the same 6 every time, and the percentile interval is a point. So each interval is widened to at
    least ``score ± z·se``, the normal approximation of the penalised fit (se from the inverse of the
    negative Hessian, centred like the scores): the prior's virtual games keep its curvature finite,
    so the width is positive for every player with games and shrinks like 1/√games, below the
    bootstrap's for large samples. With ``wins=``, every cell must be a whole number of games. Returns
    one row per player, best first (players without games last, in ``players`` order). Deterministic
    for a seed.
    """
    _check_bt_args(prior)
    _check_bootstrap_args(n_resamples, confidence)
    order, matrix, games = _win_counts(comparisons, players, wins, ties)
    fit = _bt_result(order, matrix, prior, max_iterations, tol)
    if games is None:
        if not np.allclose(matrix, np.round(matrix)):
            raise ValueError("bradley_terry_bootstrap: wins must be whole numbers of games")
        rows, cols = np.nonzero(matrix)
        kinds = np.stack([rows, cols, np.ones(rows.size)], axis=1).astype(np.float64)
        counts = np.round(matrix[rows, cols]).astype(np.int64)
    else:
        if games:
            kinds, counts = np.unique(np.asarray(games, dtype=np.float64), axis=0, return_counts=True)
        else:
            kinds, counts = np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    total = int(counts.sum())
    active = np.array([fit.scores[p] is not None for p in order])
    samples = np.full((n_resamples, len(order)), np.nan)
    if total > 0:
        rng = np.random.default_rng(seed)
        start = np.array([0.0 if theta is None else theta for theta in fit.strengths.values()])
        i, j, s = kinds[:, 0].astype(np.intp), kinds[:, 1].astype(np.intp), kinds[:, 2]
        for r, picks in enumerate(rng.multinomial(total, counts / total, size=n_resamples)):
            resampled = np.zeros_like(matrix)
            np.add.at(resampled, (i, j), picks * s)
            np.add.at(resampled, (j, i), picks * (1.0 - s))
            theta = np.zeros(len(order))
            played = (resampled + resampled.T).sum(axis=1) > 0
            theta[played], _, _ = _bt_fit(resampled[np.ix_(played, played)], prior, start[played], max_iterations, tol)
            samples[r] = ELO_BASE + ELO_SCALE * _centre(theta, active)
    alpha = (1.0 - confidence) / 2.0
    scored = [player for player, has_games in zip(order, active, strict=True) if has_games]
    point = {player: cast(float, fit.scores[player]) for player in scored}
    lows, highs = np.quantile(samples[:, active], [alpha, 1.0 - alpha], axis=0) if scored else ([], [])
    if scored:
        theta, _, _ = _bt_fit(matrix[np.ix_(active, active)], prior, None, max_iterations, tol)
        margin = _z(confidence) * ELO_SCALE * _bt_centred_se(matrix[np.ix_(active, active)], theta, prior)
        centre = np.array([point[player] for player in scored])
        lows, highs = np.minimum(lows, centre - margin), np.maximum(highs, centre + margin)
    low_of = dict(zip(scored, map(float, lows), strict=True))
    high_of = dict(zip(scored, map(float, highs), strict=True))
    rows_out = [
        BradleyTerryRow(
            player=player,
            score=fit.scores[player],
            low=low_of[player],
            high=high_of[player],
            rank=1 + sum(point[other] > point[player] for other in scored),
            rank_ub=1 + sum(low_of[other] > high_of[player] for other in scored),
            games=fit.games[player],
        )
        for player in scored
    ]
    rows_out.sort(key=lambda row: row.rank or 0)
    rows_out.extend(
        BradleyTerryRow(player=p, score=None, low=None, high=None, rank=None, rank_ub=None, games=0.0)
        for p, has_games in zip(order, active, strict=True)
        if not has_games
    )
    return rows_out


def _bt_centred_se(
    wins: npt.NDArray[np.float64], theta: npt.NDArray[np.float64], prior: float
) -> npt.NDArray[np.float64]:
    """Standard errors of the centred θ at the penalised maximum ``theta`` (uncentred): the square
    roots of diag(C·I⁻¹·Cᵀ), I the negative Hessian (as in :func:`_bt_fit`, positive definite thanks to
    the prior) and C the centring over the players."""
    games = wins + wins.T
    p = _sigmoid(theta[:, None] - theta[None, :])
    s = _sigmoid(theta)
    weights = games * p * (1.0 - p)
    information = np.diag(weights.sum(axis=1) + prior * s * (1.0 - s)) - weights
    centring = np.eye(theta.size) - 1.0 / theta.size
    covariance = centring @ np.linalg.inv(information) @ centring.T
    return np.sqrt(np.clip(np.diag(covariance), 0.0, None))


@dataclass(frozen=True)
class WinRates:
    """Result of :func:`win_rate_matrix`; matrices indexed like ``players``."""

    players: tuple[Hashable, ...]
    wins: npt.NDArray[np.float64]
    """``wins[i, j]``: games i won against j, ties counting half."""
    games: npt.NDArray[np.float64]
    """``games[i, j]``: games between i and j (symmetric)."""
    share: npt.NDArray[np.float64]
    """``wins / games``; NaN where i and j never played (and on the diagonal)."""


def win_rate_matrix(
    comparisons: Iterable[Comparison] | None = None,
    players: Sequence[P] | None = None,
    *,
    wins: npt.ArrayLike | None = None,
    ties: Literal["half", "drop"] = "half",
) -> WinRates:
    """Head-to-head win shares: for every ordered pair of players, the share of their games that the
    first won (ties count half). Same inputs as :func:`bradley_terry`."""
    order, matrix, _ = _win_counts(comparisons, players, wins, ties)
    games = matrix + matrix.T
    share = np.divide(matrix, games, out=np.full_like(matrix, np.nan), where=games > 0)
    return WinRates(players=order, wins=matrix, games=games, share=share)


# --------------------------------------------------------------------------------------------------
# Biases
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionBias:
    """Result of :func:`position_bias`; all ``None`` (and n = 0) without usable labels."""

    observed: float | None
    """Mean credit of the first-shown candidate (1/m when it shares the top rank with m - 1 others)."""
    expected: float | None
    """Chance level: mean of 1/K over the labels."""
    n: int
    z: float | None
    p_value: float | None
    """Two-sided, normal approximation."""


def position_bias(labels: Iterable[tuple[Sequence[str], Ranking]]) -> PositionBias:
    """Does a labeler rank the first-shown candidate best more often than chance?

    Each label is ``(display_order, ranks)``. Only the shown candidates that the ranking ranks count
    (normally all of them); K is their number and "first" is the earliest shown of them. Labels with
    K < 2 (including "all bad") are skipped. A label's credit is 1/m if the first candidate has the best
    rank, shared by m candidates, else 0; ``observed`` is the mean credit, ``expected`` the mean of 1/K.

    Test: under "order does not matter" the number of firsts ranked best is a Poisson-binomial sum of
    Bernoulli(1/K) (tied credit approximates it); ``z = (Σ credit - Σ 1/K) / sqrt(Σ (1/K)(1 - 1/K))`` and
    ``p_value = erfc(|z| / √2)``. Reliable from a few dozen labels on.
    """
    credit = chance = variance = 0.0
    n = 0
    for display_order, ranks in labels:
        if not ranks:
            continue
        shown = [c for c in dict.fromkeys(display_order) if c in ranks]
        k = len(shown)
        if k < 2:
            continue
        best = min(ranks[c] for c in shown)
        if ranks[shown[0]] == best:
            credit += 1.0 / sum(ranks[c] == best for c in shown)
        p = 1.0 / k
        chance += p
        variance += p * (1.0 - p)
        n += 1
    if n == 0:
        return PositionBias(observed=None, expected=None, n=0, z=None, p_value=None)
    z = (credit - chance) / math.sqrt(variance)
    return PositionBias(observed=credit / n, expected=chance / n, n=n, z=z, p_value=math.erfc(abs(z) / math.sqrt(2.0)))


@dataclass(frozen=True)
class LengthBias:
    """Result of :func:`length_bias`."""

    share: float | None
    """Share of the pairs with different lengths in which the longer candidate was chosen."""
    longer_chosen: int
    n: int
    """Pairs with different lengths (the equal-length ones are left out)."""
    p_value: float | None
    """Exact two-sided binomial test against 0.5 (:func:`binomial_two_sided_p`)."""


def length_bias(pairs: Iterable[tuple[float, float]]) -> LengthBias:
    """Does a labeler prefer longer answers? ``pairs`` are ``(len_chosen, len_rejected)`` from strict
    preferences (e.g. :func:`preference_length_pairs`). Pairs of equal length are skipped.

    The test treats pairs as independent; all pairs of one K-way ranking are not, so feeding every pair
    makes the p-value optimistic (one pair per label, or the best vs the worst, avoids that)."""
    longer = n = 0
    for chosen, rejected in pairs:
        if chosen == rejected:
            continue
        n += 1
        longer += chosen > rejected
    if n == 0:
        return LengthBias(share=None, longer_chosen=0, n=0, p_value=None)
    return LengthBias(share=longer / n, longer_chosen=longer, n=n, p_value=binomial_two_sided_p(longer, n, 0.5))


def binomial_two_sided_p(k: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test p-value of k successes in n trials with success probability p.

    As ``scipy.stats.binomtest(k, n, p).pvalue``: the total probability of the outcomes x in 0..n with
    ``pmf(x) <= pmf(k) · (1 + 1e-7)`` (the slack absorbs rounding), capped at 1; exactly 1 when k = n·p.
    The pmf is computed in log space from its mode outward, accurate for n in the millions.
    """
    if isinstance(k, bool) or isinstance(n, bool) or int(k) != k or int(n) != n:
        raise ValueError("binomial_two_sided_p: k and n must be integers")
    k, n = int(k), int(n)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"binomial_two_sided_p: need n >= 1 and 0 <= k <= n (k={k}, n={n})")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"binomial_two_sided_p: p must be in [0, 1], not {p}")
    if k == p * n:
        return 1.0
    if p in (0.0, 1.0):
        return 0.0  # k is impossible: every other outcome but the certain one has probability 0 too
    log_pmf = _binomial_log_pmf(n, p)
    threshold = log_pmf[k] + math.log1p(1e-7)
    return min(1.0, float(np.exp(log_pmf[log_pmf <= threshold]).sum()))


def _binomial_log_pmf(n: int, p: float) -> npt.NDArray[np.float64]:
    """log pmf(0..n) of Binomial(n, p), 0 < p < 1: exact at the mode, ratios of neighbours outward."""
    mode = min(n, math.floor((n + 1) * p))
    log_odds = math.log(p) - math.log1p(-p)
    log_mode = (
        math.lgamma(n + 1)
        - math.lgamma(mode + 1)
        - math.lgamma(n - mode + 1)
        + mode * math.log(p)
        + (n - mode) * math.log1p(-p)
    )
    out = np.empty(n + 1)
    out[mode] = log_mode
    up = np.arange(mode + 1, n + 1, dtype=np.float64)  # pmf(x)/pmf(x-1) = (n-x+1)/x · p/(1-p)
    out[mode + 1 :] = log_mode + np.cumsum(np.log((n - up + 1) / up) + log_odds)
    down = np.arange(mode - 1, -1, -1, dtype=np.float64)  # pmf(x)/pmf(x+1) = (x+1)/(n-x) · (1-p)/p
    out[:mode] = (log_mode + np.cumsum(np.log((down + 1) / (n - down)) - log_odds))[::-1]
    return out
