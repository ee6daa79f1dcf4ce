"""Tests for labelhub.quality.metrics: hand-computed cases (the computation is in the comments),
comparisons with scipy and krippendorff on random inputs, Bradley–Terry recovery, bootstrap behaviour
and speed. No database."""

import ast
import math
import time
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from scipy import optimize, stats

from labelhub.quality import metrics as m

# --------------------------------------------------------------------------------------------------
# Module hygiene
# --------------------------------------------------------------------------------------------------


def test_module_imports_only_stdlib_and_numpy():
    tree = ast.parse(Path(m.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "math", "collections", "dataclasses", "typing", "numpy"}


def test_all_lists_public_names():
    assert len(set(m.__all__)) == len(m.__all__)
    for name in m.__all__:
        assert hasattr(m, name), name


# --------------------------------------------------------------------------------------------------
# Rankings
# --------------------------------------------------------------------------------------------------


def test_candidate_order_key_numeric_then_strings():
    ids = ["b", "10", "11", "9", "a", "011", "Z"]
    # Digits by number (9 < 10 < 11; "011" and "11" are both 11, the string breaks the tie), then strings.
    assert sorted(ids, key=m.candidate_order_key) == ["9", "10", "011", "11", "Z", "a", "b"]
    # Non-ASCII digits are not numbers ("²".isdigit() is True but int("²") fails).
    assert m.candidate_order_key("²") == (1, 0, "²")
    assert m.candidate_order_key(7) == (0, 7, "7")


def test_pair_preferences_ties_and_order():
    # 11 and 12 share rank 1 -> 0; both beat 13 (rank 2) -> +1, keys with the smaller id first.
    assert m.pair_preferences({"13": 2, "11": 1, "12": 1}) == {("11", "12"): 0, ("11", "13"): 1, ("12", "13"): 1}


def test_pair_preferences_numeric_order_and_sign():
    # "9" sorts before "10"; 10 has the better rank, so the pair ("9", "10") is -1.
    assert m.pair_preferences({"10": 1, "9": 2}) == {("9", "10"): -1}
    # Order "2" < "a" < "b": 2 (rank 3) loses to a (1) and b (2); a beats b.
    assert m.pair_preferences({"b": 2, "a": 1, "2": 3}) == {("2", "a"): -1, ("2", "b"): -1, ("a", "b"): 1}


def test_numpy_integer_ranks_work_everywhere():
    a = {"1": np.int64(1), "2": np.int64(2), "3": np.int64(2)}
    b = {"1": np.int64(2), "2": np.int64(1), "3": np.int64(3)}
    assert m.pair_preferences(a) == {("1", "2"): 1, ("1", "3"): 1, ("2", "3"): 0}
    # Pairs (1,2) +/-, (1,3) +/+, (2,3) 0/+: one agreement of three.
    assert m.pairwise_agreement([[a, b]]).agreements == 1
    assert m.kendall_tau_b(a, b) == m.mean_pairwise_kendall_tau([[a, b]]).mean
    # With one other labeler, that labeler's sign is the consensus: the same 1 of 3.
    loo = m.leave_one_out_agreement([{"A": a, "B": b}])
    assert (loo["A"].agreements, loo["A"].comparisons) == (1, 3)


def test_pair_preferences_all_bad_and_single():
    assert m.pair_preferences({}) == {}
    assert m.pair_preferences({"1": 1}) == {}


def test_pair_preferences_counts_every_pair():
    ranks = {str(i): i % 3 + 1 for i in range(6)}
    assert len(m.pair_preferences(ranks)) == 15  # C(6, 2)


def test_preference_length_pairs():
    # (1,2): 1 better -> (10, 20); (1,3): 1 better -> (10, 30); (2,3) tied -> left out.
    assert m.preference_length_pairs({"1": 1, "2": 2, "3": 2}, {"1": 10, "2": 20, "3": 30}) == [(10, 20), (10, 30)]
    # 2 is better: (len 2, len 1).
    assert m.preference_length_pairs({"1": 2, "2": 1}, {"1": 5, "2": 7}) == [(7, 5)]
    assert m.preference_length_pairs({}, {}) == []


# --------------------------------------------------------------------------------------------------
# Pairwise agreement
# --------------------------------------------------------------------------------------------------

AGREEMENT_ITEMS = [
    # A: 1>2>3 (+,+,+); B: 1>3>2 (+,+,-); C all bad. A-B: 3 comparisons, 2 agree.
    [{"1": 1, "2": 2, "3": 3}, {"1": 1, "2": 3, "3": 2}, {}],
    # A tie (0), B tie (0), C prefers 2 (-1): AB agree, AC and BC disagree -> 3 comparisons, 1 agrees.
    [{"1": 1, "2": 1}, {"1": 1, "2": 1}, {"1": 2, "2": 1}],
    # One labeler: nothing to compare.
    [{"1": 1, "2": 2}],
    # No candidate pair ranked by both: nothing.
    [{"1": 1, "2": 2}, {"2": 1, "3": 2}],
]


def test_pairwise_agreement_hand_computed():
    result = m.pairwise_agreement(AGREEMENT_ITEMS)
    # (2 + 1) agreements out of (3 + 3) comparisons.
    assert result.agreements == 3
    assert result.comparisons == 6
    assert result.agreement == 0.5
    assert result.item_agreements.tolist() == [2, 1, 0, 0]
    assert result.item_comparisons.tolist() == [3, 3, 0, 0]


def test_pairwise_agreement_accepts_labeler_dicts():
    as_dicts = [{f"L{i}": ranks for i, ranks in enumerate(item)} for item in AGREEMENT_ITEMS]
    result = m.pairwise_agreement(as_dicts)
    assert (result.agreements, result.comparisons) == (3, 6)


def test_pairwise_agreement_empty():
    result = m.pairwise_agreement([])
    assert (result.agreement, result.agreements, result.comparisons) == (None, 0, 0)
    assert result.item_agreements.shape == (0,)
    assert m.pairwise_agreement([[{}, {}]]).agreement is None


def test_pairwise_agreement_three_labelers_all_pairs():
    # Three identical 3-candidate rankings: 3 labeler pairs × 3 candidate pairs = 9 comparisons, all agree.
    ranks = {"1": 1, "2": 2, "3": 3}
    result = m.pairwise_agreement([[ranks, dict(ranks), dict(ranks)]])
    assert (result.agreements, result.comparisons, result.agreement) == (9, 9, 1.0)


def test_pairwise_agreement_matches_brute_force_on_random_items():
    rng = np.random.default_rng(3)
    items = [_random_item(rng) for _ in range(300)]
    agreements = comparisons = 0
    for item in items:
        for i in range(len(item)):
            for j in range(i + 1, len(item)):
                a, b = item[i], item[j]
                for x in a:
                    for y in a:
                        if x < y and x in b and y in b:  # string order is fine for a brute force
                            comparisons += 1
                            agreements += np.sign(a[y] - a[x]) == np.sign(b[y] - b[x])
    result = m.pairwise_agreement(items)
    assert (result.agreements, result.comparisons) == (agreements, comparisons)


def _random_item(rng, *, max_labelers=4, candidates=("1", "2", "3", "4")):
    item = []
    for _ in range(rng.integers(1, max_labelers + 1)):
        if rng.random() < 0.15:
            item.append({})  # all bad
            continue
        shown = [c for c in candidates if rng.random() < 0.85]
        item.append({c: int(rng.integers(1, 4)) for c in shown})
    return item


# --------------------------------------------------------------------------------------------------
# Leave-one-out agreement
# --------------------------------------------------------------------------------------------------


def test_leave_one_out_hand_computed():
    items = [
        # Pair (1,2): A +1, B +1, C -1. A: others B+, C- -> tie, skipped (B likewise).
        # C: others A+, B+ -> consensus +1, C says -1 -> (0 of 1).
        {"A": {"1": 1, "2": 2}, "B": {"1": 1, "2": 2}, "C": {"1": 2, "2": 1}},
        # A, B, C: 1>2>3 (+,+,+); D: 1=2>3 (0,+,+).
        # A on (1,2): others B+, C+, D0 -> +1, agrees; (1,3), (2,3): others all + -> agree. A: 3 of 3.
        # D on (1,2): others +,+,+ -> +1, D says 0 -> disagrees; (1,3), (2,3) agree. D: 2 of 3.
        {
            "A": {"1": 1, "2": 2, "3": 3},
            "B": {"1": 1, "2": 2, "3": 3},
            "C": {"1": 1, "2": 2, "3": 3},
            "D": {"1": 1, "2": 1, "3": 2},
        },
        # E is all bad: no votes, so A has no consensus to compare with; E is still reported.
        {"A": {"1": 1, "2": 2}, "E": {}},
    ]
    result = m.leave_one_out_agreement(items)
    assert {k: (v.agreements, v.comparisons) for k, v in result.items()} == {
        "A": (3, 3),
        "B": (3, 3),
        "C": (3, 4),
        "D": (2, 3),
        "E": (0, 0),
    }
    assert result["C"].share == 0.75
    assert result["E"].share is None


def test_leave_one_out_tie_is_a_vote():
    # X +1, Y 0, Z 0. X: others 0, 0 -> consensus 0 (a tie), X disagrees.
    # Y: others +1, 0 -> top count shared -> no consensus; Z likewise.
    items = [{"X": {"1": 1, "2": 2}, "Y": {"1": 1, "2": 1}, "Z": {"1": 1, "2": 1}}]
    result = m.leave_one_out_agreement(items)
    assert {k: (v.agreements, v.comparisons) for k, v in result.items()} == {"X": (0, 1), "Y": (0, 0), "Z": (0, 0)}


def test_leave_one_out_matches_brute_force():
    rng = np.random.default_rng(5)
    items = [dict(zip("ABCDE", _random_item(rng, max_labelers=5), strict=False)) for _ in range(300)]
    expected: dict[str, list[int]] = {}
    for item in items:
        prefs = {k: m.pair_preferences(v) for k, v in item.items()}
        for labeler, pairs in prefs.items():
            total = expected.setdefault(labeler, [0, 0])
            for pair, sign in pairs.items():
                votes = [p[pair] for other, p in prefs.items() if other != labeler and pair in p]
                counts = {s: votes.count(s) for s in (-1, 0, 1)}
                top = max(counts.values())
                winners = [s for s, c in counts.items() if c == top]
                if top == 0 or len(winners) > 1:
                    continue
                total[1] += 1
                total[0] += winners[0] == sign
    result = m.leave_one_out_agreement(items)
    assert {k: [v.agreements, v.comparisons] for k, v in result.items()} == expected


# --------------------------------------------------------------------------------------------------
# Kendall tau-b
# --------------------------------------------------------------------------------------------------


def test_kendall_tau_b_hand_computed():
    # Pairs (0,1): -1·-1 = +1; (0,2): -1·-1 = +1; (1,2): -1·+1 = -1. S = 1, 3 untied each: 1/3.
    assert m.kendall_tau_b([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3, abs=1e-15)
    # x ties a and b. (a,b): 0·-1 = 0; (a,c): +1; (b,c): +1. S = 2, untied x = 2, untied y = 3: 2/sqrt(6).
    x = {"a": 1, "b": 1, "c": 2}
    y = {"a": 1, "b": 2, "c": 3}
    assert m.kendall_tau_b(x, y) == pytest.approx(2 / math.sqrt(6), abs=1e-15)
    assert m.kendall_tau_b(x, x) == 1.0  # exactly, although scipy gives 0.9999999999999999 here
    assert m.kendall_tau_b(y, {"a": 3, "b": 2, "c": 1}) == -1.0


def test_kendall_tau_b_uses_common_candidates():
    # Common: b, c. x: 2 < 3, y: 1 < 2 -> concordant, tau = 1.
    assert m.kendall_tau_b({"a": 1, "b": 2, "c": 3}, {"b": 1, "c": 2, "d": 3}) == 1.0
    assert m.kendall_tau_b({"a": 1, "b": 2}, {"b": 1, "c": 2}) is None  # one common candidate


def test_kendall_tau_b_undefined():
    assert m.kendall_tau_b({"a": 1, "b": 1}, {"a": 1, "b": 2}) is None  # x tied everything
    assert m.kendall_tau_b({}, {}) is None
    assert m.kendall_tau_b([1], [2]) is None
    with pytest.raises(ValueError):
        m.kendall_tau_b([1, 2], [1, 2, 3])
    with pytest.raises(TypeError):
        m.kendall_tau_b({"a": 1, "b": 2}, [1, 2])
    with pytest.raises(ValueError):
        m.kendall_tau_b([1, float("nan")], [1, 2])


@pytest.mark.parametrize("size_range", [(1, 12), (2, 64), (65, 400)])
def test_kendall_tau_b_equals_scipy(size_range):
    rng = np.random.default_rng(size_range[1])
    for _ in range(400 if size_range[1] <= 64 else 40):
        n = int(rng.integers(*size_range, endpoint=True))
        x = rng.integers(0, rng.integers(1, 8), n)  # few distinct values: many ties
        y = rng.integers(0, rng.integers(1, 8), n) if rng.random() < 0.5 else rng.permutation(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = stats.kendalltau(x, y).statistic
        ours = m.kendall_tau_b(x, y)
        if np.isnan(expected):
            assert ours is None
        else:
            assert ours == pytest.approx(expected, abs=1e-14)


def test_kendall_tau_b_float_values_equal_scipy():
    rng = np.random.default_rng(8)
    for _ in range(100):
        x, y = rng.normal(size=20), rng.normal(size=20)
        assert m.kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-14)


def test_mean_pairwise_kendall_tau_hand_computed():
    items = [
        # tau(1>2>3, 1>3>2) = 1/3 (see above); the all-tied labeler makes both other pairs undefined.
        [{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 3, "c": 2}, {"a": 1, "b": 1, "c": 1}],
        # Reversed: -1.
        [{"a": 1, "b": 2}, {"a": 2, "b": 1}],
        # All bad: nothing.
        [{}, {}],
    ]
    result = m.mean_pairwise_kendall_tau(items)
    # (1/3 - 1) / 2 = -1/3
    assert result.mean == pytest.approx(-1 / 3)
    assert result.pairs == 2
    assert result.item_sums.tolist() == pytest.approx([1 / 3, -1.0, 0.0])
    assert result.item_counts.tolist() == [1, 1, 0]
    assert m.mean_pairwise_kendall_tau([]).mean is None


def test_mean_pairwise_kendall_tau_matches_scipy_loop():
    rng = np.random.default_rng(11)
    items = [_random_item(rng) for _ in range(200)]
    taus = []
    for item in items:
        for i in range(len(item)):
            for j in range(i + 1, len(item)):
                common = [c for c in item[i] if c in item[j]]
                if len(common) < 2:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tau = stats.kendalltau([item[i][c] for c in common], [item[j][c] for c in common]).statistic
                if not np.isnan(tau):
                    taus.append(tau)
    result = m.mean_pairwise_kendall_tau(items)
    assert result.pairs == len(taus)
    assert result.mean == pytest.approx(np.mean(taus), abs=1e-12)


# --------------------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------------------

# Coder A: 1, 2, 3 (and 7 alone in a 4th unit: not pairable); coder B: 1, 2, 2; coder C: nothing.
HAND_ALPHA = [[1, 2, 3, 7], [1, 2, 2, None], [None, None, None, None]]


def test_alpha_ordinal_hand_computed():
    # Pairable values: 1,1 | 2,2 | 3,2 -> n = 6, n_1 = 2, n_2 = 3, n_3 = 1.
    # Coincidences (ordered pairs / (m_u - 1) = 1): o_11 = 2, o_22 = 2, o_23 = o_32 = 1.
    # Ordinal δ²: δ(1,2) = (2 + 3 - (2+3)/2)² = 6.25; δ(2,3) = (3 + 1 - (3+1)/2)² = 4;
    #             δ(1,3) = (2 + 3 + 1 - (2+1)/2)² = 20.25.
    # Σ o δ = 2·4 = 8; Σ n_c n_k δ = 2·(2·3·6.25 + 2·1·20.25 + 3·1·4) = 180.
    # alpha = 1 - (6 - 1)·8/180 = 7/9.
    assert m.krippendorff_alpha_ordinal(HAND_ALPHA) == pytest.approx(7 / 9, abs=1e-12)
    assert _reference_alpha(HAND_ALPHA, "ordinal") == pytest.approx(7 / 9, abs=1e-12)


def test_alpha_interval_hand_computed():
    # Interval δ² = (c - k)²: Σ o δ = 2·1 = 2; Σ n_c n_k δ = 2·(2·3·1 + 2·1·4 + 3·1·1) = 34.
    # alpha = 1 - 5·2/34 = 12/17.
    assert m.krippendorff_alpha_interval(HAND_ALPHA) == pytest.approx(12 / 17, abs=1e-12)
    assert _reference_alpha(HAND_ALPHA, "interval") == pytest.approx(12 / 17, abs=1e-12)


def test_alpha_nominal_hand_computed():
    # Nominal: Σ o δ = o_23 + o_32 = 2; Σ n_c n_k δ = n² - Σ n_c² = 36 - (4 + 9 + 1) = 22.
    # alpha = 1 - 5·2/22 = 6/11.
    assert m.krippendorff_alpha(HAND_ALPHA, level="nominal") == pytest.approx(6 / 11, abs=1e-12)


def test_alpha_published_example():
    # Krippendorff's example, as in the krippendorff package docstring.
    nan = None
    data = [
        [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
        [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
        [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
    ]
    assert m.krippendorff_alpha(data, level="nominal") == pytest.approx(0.691358, abs=5e-7)
    assert m.krippendorff_alpha(data, level="interval") == pytest.approx(0.810845, abs=5e-7)
    data2 = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    assert m.krippendorff_alpha_ordinal(data2) == pytest.approx(0.815, abs=5e-4)


def test_alpha_perfect_agreement_and_undefined():
    assert m.krippendorff_alpha_ordinal([[1, 2, 3], [1, 2, 3]]) == 1.0
    assert m.krippendorff_alpha_ordinal([[4, 4, 4], [4, 4, None]]) is None  # no variation
    assert m.krippendorff_alpha_ordinal([[1, None], [None, 2]]) is None  # nothing pairable
    assert m.krippendorff_alpha_ordinal([[1, 2, 5], [1, None, None]]) is None  # only 1,1 pairable: no variation
    assert m.krippendorff_alpha_ordinal([[None, None]]) is None
    assert m.krippendorff_alpha_ordinal(np.zeros((2, 0))) is None
    with pytest.raises(ValueError):
        m.krippendorff_alpha([1, 2, 3])
    with pytest.raises(ValueError):
        m.krippendorff_alpha([[1, 2], [1, 2]], level="ratio")
    with pytest.raises(ValueError):
        m.krippendorff_alpha([[1, np.inf], [1, 2]])


def _reference_alpha(data, level):
    """krippendorff.alpha with NaN for missing; NaN when the package refuses (undefined)."""
    array = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return krippendorff.alpha(reliability_data=array, level_of_measurement=level)
    except ValueError:
        return float("nan")


@pytest.mark.parametrize("level", ["ordinal", "interval", "nominal"])
def test_alpha_equals_krippendorff_on_random_likert(level):
    rng = np.random.default_rng({"ordinal": 1, "interval": 2, "nominal": 3}[level])
    compared = 0
    for _ in range(600):
        coders, units = int(rng.integers(2, 7)), int(rng.integers(1, 30))
        top = int(rng.integers(1, 8))
        data = rng.integers(1, top + 1, size=(coders, units)).astype(float)
        if rng.random() < 0.5:  # agreement above chance: copy a consensus with noise
            consensus = rng.integers(1, top + 1, size=units)
            noisy = rng.random((coders, units)) < 0.3
            data = np.where(noisy, data, consensus)
        data[rng.random((coders, units)) < rng.random() * 0.7] = np.nan
        as_lists = [[None if np.isnan(v) else int(v) for v in row] for row in data]
        expected = _reference_alpha(as_lists, level)
        ours = m.krippendorff_alpha(as_lists, level=level)
        if np.isnan(expected):
            assert ours is None
        else:
            assert ours == pytest.approx(expected, abs=1e-9)
            compared += 1
        assert m.krippendorff_alpha(data, level=level) == ours  # NaN matrix = None lists
    assert compared > 400


def test_alpha_interval_equals_krippendorff_on_floats():
    rng = np.random.default_rng(4)
    for _ in range(100):
        data = rng.normal(size=(4, 25)).round(1)
        data[rng.random(data.shape) < 0.3] = np.nan
        assert m.krippendorff_alpha_interval(data) == pytest.approx(
            krippendorff.alpha(reliability_data=data, level_of_measurement="interval"), abs=1e-9
        )


def test_alpha_long_format_equals_matrix():
    rng = np.random.default_rng(6)
    data = rng.integers(1, 8, size=(5, 200)).astype(float)
    data[rng.random(data.shape) < 0.4] = np.nan
    _, unit_idx = np.nonzero(np.ones_like(data, dtype=bool))  # row-major, like data.ravel()
    values = [None if np.isnan(v) else v for v in data.ravel()]
    unit_names = [f"item-{u}" for u in unit_idx]
    for level in ("ordinal", "interval", "nominal"):
        expected = m.krippendorff_alpha(data, level=level)
        assert m.krippendorff_alpha_long(unit_names, values, level=level) == pytest.approx(expected, abs=1e-12)
        assert m.krippendorff_alpha_long(unit_idx, data.ravel(), level=level) == pytest.approx(expected, abs=1e-12)
    mixed_units = [("item", u) if u % 2 else u for u in unit_idx]  # object keys
    mixed = np.empty(len(mixed_units), dtype=object)
    mixed[:] = mixed_units
    assert m.krippendorff_alpha_long(mixed, values) == pytest.approx(m.krippendorff_alpha(data), abs=1e-12)
    with pytest.raises(ValueError):
        m.krippendorff_alpha_long([1, 2], [1.0])


def test_alpha_from_value_counts():
    # HAND_ALPHA as counts of values 1, 2, 3, 7 per unit: {1: 2}, {2: 2}, {2: 1, 3: 1}, {7: 1}.
    counts = [[2, 0, 0, 0], [0, 2, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]]
    assert m.krippendorff_alpha_counts(counts, [1, 2, 3, 7]) == pytest.approx(7 / 9, abs=1e-12)
    assert m.krippendorff_alpha_counts(counts, [1, 2, 3, 7], level="interval") == pytest.approx(12 / 17, abs=1e-12)
    rng = np.random.default_rng(14)
    for _ in range(200):
        counts = rng.integers(0, 3, size=(int(rng.integers(1, 20)), 7))
        domain = np.arange(1, 8)
        for level in ("ordinal", "interval", "nominal"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    expected = krippendorff.alpha(value_counts=counts, value_domain=domain, level_of_measurement=level)
            except ValueError:
                expected = float("nan")
            ours = m.krippendorff_alpha_counts(counts, domain, level=level)
            if np.isnan(expected):
                assert ours is None
            else:
                assert ours == pytest.approx(expected, abs=1e-9)
    assert m.krippendorff_alpha_counts(np.zeros((0, 7)), range(1, 8)) is None
    with pytest.raises(ValueError):
        m.krippendorff_alpha_counts([[1, -1]])
    with pytest.raises(ValueError):
        m.krippendorff_alpha_counts([[1, 1]], [1, 2, 3])


def test_alpha_one_million_values_is_fast():
    rng = np.random.default_rng(7)
    coders, units = 5, 200_000  # 1M cells, 20% missing, Likert 1..7 around a per-unit consensus
    consensus = rng.integers(1, 8, size=units)
    data = np.clip(consensus + rng.integers(-1, 2, size=(coders, units)), 1, 7).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    start = time.perf_counter()
    ours = m.krippendorff_alpha_ordinal(data)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, elapsed
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    assert ours == pytest.approx(expected, abs=1e-9)
    start = time.perf_counter()
    m.krippendorff_alpha_interval(data)
    assert time.perf_counter() - start < 5.0


# --------------------------------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------------------------------


def _mean_or_none(sample):
    return sum(sample) / len(sample)


def test_bootstrap_ci_hand_computed():
    # Units 0 and 1: a resample's mean is 0 (p 1/4), 0.5 (p 1/2) or 1 (p 1/4); with 1000 resamples both
    # the 2.5% and 97.5% quantiles fall inside the end masses: (0, 1).
    assert m.bootstrap_ci([0, 1], _mean_or_none, n_resamples=1000) == (0.0, 1.0)
    # Dropping the undefined resamples (all zeros) leaves 0.5 (p 2/3) and 1 (p 1/3): (0.5, 1).
    assert m.bootstrap_ci([0, 1], lambda s: None if sum(s) == 0 else _mean_or_none(s)) == (0.5, 1.0)
    assert m.bootstrap_ci([0, 1], lambda s: None) == (None, None)
    assert m.bootstrap_ci([0, 1], lambda s: float("nan")) == (None, None)


def test_bootstrap_ci_needs_two_units():
    assert m.bootstrap_ci([], _mean_or_none) == (None, None)
    assert m.bootstrap_ci([3.0], _mean_or_none) == (None, None)
    assert m.bootstrap_ratio_ci([1], [2]) == (None, None)
    with pytest.raises(ValueError):
        m.bootstrap_ci([1, 2], _mean_or_none, confidence=1.0)
    with pytest.raises(ValueError):
        m.bootstrap_ci([1, 2], _mean_or_none, n_resamples=0)
    with pytest.raises(ValueError):
        m.bootstrap_ratio_ci([1, 2], [1])
    with pytest.raises(ValueError):
        m.bootstrap_ratio_ci([1, np.nan], [1, 1])


def test_bootstrap_ci_deterministic_for_a_seed():
    rng = np.random.default_rng(0)
    units = rng.normal(size=50).tolist()
    first = m.bootstrap_ci(units, _mean_or_none, seed=42)
    assert m.bootstrap_ci(units, _mean_or_none, seed=42) == first
    assert m.bootstrap_ci(units, _mean_or_none, seed=43) != first
    num, den = rng.integers(0, 5, 1000), rng.integers(5, 8, 1000)  # few distinct pairs: multinomial path
    assert m.bootstrap_ratio_ci(num, den, seed=1) == m.bootstrap_ratio_ci(num, den, seed=1)
    assert m.bootstrap_ratio_ci(num, den, seed=1) != m.bootstrap_ratio_ci(num, den, seed=2)
    num, den = rng.random(300), rng.random(300) + 1  # all distinct: index-matrix path
    assert m.bootstrap_ratio_ci(num, den, seed=1) == m.bootstrap_ratio_ci(num, den, seed=1)


def test_bootstrap_ci_array_units_and_statistic_order():
    rng = np.random.default_rng(1)
    units = rng.normal(size=(40, 2))
    low, high = m.bootstrap_ci(units, lambda s: float(s[:, 0].mean()), n_resamples=300)
    assert low < units[:, 0].mean() < high


def test_bootstrap_ratio_ci_same_resamples_as_generic():
    # All pairs distinct -> bootstrap_ratio_ci resamples units with the same index draws as bootstrap_ci.
    rng = np.random.default_rng(2)
    num, den = rng.random(500), rng.random(500) + 0.5
    units = np.stack([num, den], axis=1)
    generic = m.bootstrap_ci(units, lambda s: s[:, 0].sum() / s[:, 1].sum(), n_resamples=300, seed=9)
    vectorised = m.bootstrap_ratio_ci(num, den, n_resamples=300, seed=9)
    assert vectorised == pytest.approx(generic, rel=1e-12)


def test_bootstrap_ratio_ci_multinomial_path_agrees_with_generic():
    # Count data with few distinct (num, den) pairs: the multinomial shortcut has the same distribution.
    rng = np.random.default_rng(3)
    den = rng.integers(1, 6, 6400)
    num = rng.binomial(den, 0.7)
    units = np.stack([num, den], axis=1).astype(float)
    generic = m.bootstrap_ci(units, lambda s: s[:, 0].sum() / s[:, 1].sum(), n_resamples=2000, seed=4)
    fast = m.bootstrap_ratio_ci(num, den, n_resamples=2000, seed=4)
    width = generic[1] - generic[0]
    assert fast[0] == pytest.approx(generic[0], abs=0.1 * width)
    assert fast[1] == pytest.approx(generic[1], abs=0.1 * width)


def test_bootstrap_ratio_ci_zero_denominators():
    # Units (0/0, 1/1): resamples of only the first unit have no denominator and are dropped;
    # the rest give 1/1 (p 1/2) or 2/2 (p 1/4): all 1.0.
    assert m.bootstrap_ratio_ci([0, 1], [0, 1]) == (1.0, 1.0)
    assert m.bootstrap_ratio_ci([0, 0], [0, 0]) == (None, None)


@pytest.mark.parametrize("n_items", [300, 5000])  # index-matrix path, multinomial path
def test_bootstrap_ratio_ci_coverage(n_items):
    # Items with 1..5 comparisons each, agreeing with probability 0.7: the 90% interval should cover
    # 0.7 in roughly 90% of 200 simulated data sets (binomial sd ~2%: accept 82%..97%).
    rng = np.random.default_rng(n_items)
    covered = 0
    for sim in range(200):
        den = rng.integers(1, 6, n_items)
        num = rng.binomial(den, 0.7)
        low, high = m.bootstrap_ratio_ci(num, den, n_resamples=400, confidence=0.9, seed=sim)
        covered += low <= 0.7 <= high
    assert 164 <= covered <= 194, covered


def test_bootstrap_of_pairwise_agreement_by_item():
    rng = np.random.default_rng(12)
    result = m.pairwise_agreement([_random_item(rng) for _ in range(2000)])
    low, high = m.bootstrap_ratio_ci(result.item_agreements, result.item_comparisons)
    assert low < result.agreement < high
    tau = m.mean_pairwise_kendall_tau([_random_item(rng) for _ in range(2000)])
    low, high = m.bootstrap_ratio_ci(tau.item_sums, tau.item_counts, n_resamples=300)
    assert low < tau.mean < high


def test_bootstrap_ratio_ci_100k_items_is_fast():
    rng = np.random.default_rng(13)
    den = rng.integers(1, 7, 100_000)  # counts: the usual agreement data
    num = rng.binomial(den, 0.75)
    start = time.perf_counter()
    low, high = m.bootstrap_ratio_ci(num, den, n_resamples=1000)
    assert time.perf_counter() - start < 2.0
    assert low < num.sum() / den.sum() < high
    num_f, den_f = rng.random(100_000), rng.random(100_000) + 1  # all distinct: index-matrix path
    start = time.perf_counter()
    low, high = m.bootstrap_ratio_ci(num_f, den_f, n_resamples=1000)
    assert time.perf_counter() - start < 8.0  # ~1.5 s here; generous for a busy shared machine
    assert low < num_f.sum() / den_f.sum() < high


# --------------------------------------------------------------------------------------------------
# Bradley–Terry
# --------------------------------------------------------------------------------------------------


def test_bradley_terry_two_players_hand_computed():
    # A beats B 3 times out of 4: the MLE is θ_A - θ_B = ln 3, i.e. 400·log10(3) = 190.85 points,
    # centred on 1000: A = 1000 + 95.42, B = 1000 - 95.42. A vanishing prior leaves the MLE.
    games = [("A", "B")] * 3 + [("B", "A")]
    fit = m.bradley_terry(games, prior=1e-9)
    assert fit.converged
    assert fit.players == ("A", "B")
    assert fit.scores["A"] - fit.scores["B"] == pytest.approx(400 * math.log10(3), abs=1e-4)
    assert fit.scores["A"] + fit.scores["B"] == pytest.approx(2000)
    assert fit.strengths["A"] - fit.strengths["B"] == pytest.approx(math.log(3), abs=1e-6)
    assert fit.win_probability("A", "B") == pytest.approx(0.75, abs=1e-6)
    assert fit.games == {"A": 4.0, "B": 4.0}


def test_bradley_terry_default_prior_shrinks_slightly():
    # With prior 1 each player also plays one virtual game (half won) against θ = 0. By symmetry
    # θ_A = -θ_B = t with 3 - 4·σ(2t) + (0.5 - σ(t)) = 0 (the score equation of A); solve it directly.
    games = [("A", "B")] * 3 + [("B", "A")]
    t = optimize.brentq(lambda t: 3 - 4 * _sigmoid(2 * t) + 0.5 - _sigmoid(t), 0, 5)
    fit = m.bradley_terry(games)
    assert fit.strengths["A"] == pytest.approx(t, abs=1e-9)
    assert fit.scores["A"] == pytest.approx(1000 + 400 * t / math.log(10), abs=1e-6)
    assert 0 < 2 * t < math.log(3)


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_bradley_terry_matches_direct_optimisation():
    rng = np.random.default_rng(21)
    for _ in range(10):
        players = 5
        games = []
        for _ in range(60):
            a, b = rng.choice(players, 2, replace=False)
            outcome = rng.choice([1.0, 0.0, 0.5], p=[0.45, 0.45, 0.1])
            games.append((int(a), int(b), float(outcome)))
        wins = np.zeros((players, players))
        for a, b, s in games:
            wins[a, b] += s
            wins[b, a] += 1 - s

        def negative(theta, wins=wins):
            diff = theta[:, None] - theta[None, :]
            return np.sum(wins * np.logaddexp(0, -diff)) + 0.5 * np.sum(
                np.logaddexp(0, -theta) + np.logaddexp(0, theta)
            )

        reference = optimize.minimize(negative, np.zeros(players), method="BFGS", options={"gtol": 1e-10}).x
        fit = m.bradley_terry(games, players=list(range(players)))
        ours = np.array([fit.strengths[p] for p in range(players)])
        np.testing.assert_allclose(ours, reference - reference.mean(), atol=1e-5)


def test_bradley_terry_undefeated_player_stays_finite():
    fit = m.bradley_terry([("A", "B")] * 5 + [("B", "C")] * 5)
    assert all(math.isfinite(s) for s in fit.scores.values())
    assert fit.scores["A"] > fit.scores["B"] > fit.scores["C"]
    assert sum(fit.scores.values()) / 3 == pytest.approx(1000)


def test_bradley_terry_players_without_games():
    fit = m.bradley_terry([("A", "B")], players=["A", "B", "C"])
    assert fit.scores["C"] is None
    assert fit.strengths["C"] is None
    assert fit.games["C"] == 0.0
    assert fit.win_probability("A", "C") is None
    assert (fit.scores["A"] + fit.scores["B"]) / 2 == pytest.approx(1000)  # mean over players with games
    empty = m.bradley_terry([], players=["A"])
    assert empty.scores == {"A": None}
    assert m.bradley_terry([]).players == ()


def test_bradley_terry_ties_and_inputs():
    # Only ties: equal strength. Dropped ties: no games at all.
    ties = [("A", "B", 0.5)] * 4
    half = m.bradley_terry(ties)
    assert half.scores == {"A": pytest.approx(1000), "B": pytest.approx(1000)}
    dropped = m.bradley_terry(ties, ties="drop")
    assert dropped.scores == {"A": None, "B": None}
    # (a, b, 1) is (a, b); (a, b, 0) is (b, a); numpy rows work; player ids sort numerically.
    games = [("2", "10"), ("10", "2", 0), ("10", "2", 1.0)]
    fit = m.bradley_terry(games)
    assert fit.players == ("2", "10")
    assert fit.scores["2"] > fit.scores["10"]
    array_fit = m.bradley_terry(np.array([[0, 1], [0, 1], [1, 0]]))
    matrix_fit = m.bradley_terry(wins=[[0, 2], [1, 0]])
    assert array_fit.scores == pytest.approx(matrix_fit.scores)
    assert m.bradley_terry(wins=[[0, 2], [1, 0]], players=["x", "y"]).scores["x"] == pytest.approx(matrix_fit.scores[0])


def test_bradley_terry_disconnected_groups_are_finite_and_symmetric():
    fit = m.bradley_terry([("A", "B"), ("C", "D")])
    assert fit.scores["A"] == pytest.approx(fit.scores["C"])
    assert fit.scores["B"] == pytest.approx(fit.scores["D"])
    assert fit.scores["A"] > fit.scores["B"]


def test_bradley_terry_rejects_bad_input():
    with pytest.raises(ValueError):
        m.bradley_terry([("A", "A")])
    with pytest.raises(ValueError):
        m.bradley_terry([("A", "B")], players=["A"])
    with pytest.raises(ValueError):
        m.bradley_terry([("A", "B")], wins=[[0, 1], [0, 0]])
    with pytest.raises(ValueError):
        m.bradley_terry()
    with pytest.raises(ValueError):
        m.bradley_terry([("A", "B", 0.3)])
    with pytest.raises(ValueError):
        m.bradley_terry([("A", "B")], prior=0)
    with pytest.raises(ValueError):
        m.bradley_terry([("A", "B")], ties="count")
    with pytest.raises(ValueError):
        m.bradley_terry(wins=[[0, 1, 2], [0, 0, 1]])
    with pytest.raises(ValueError):
        m.bradley_terry([("A", "B")], players=["A", "B", "A"])
    with pytest.raises(ValueError):
        m.bradley_terry_bootstrap(wins=[[0, 1.5], [0.5, 0]])


def _simulate_games(rng, strengths, n_games):
    games = []
    for _ in range(n_games):
        a, b = rng.choice(len(strengths), 2, replace=False)
        p_a = 1 / (1 + math.exp(-(strengths[a] - strengths[b])))
        games.append((f"m{a}", f"m{b}") if rng.random() < p_a else (f"m{b}", f"m{a}"))
    return games


def test_bradley_terry_recovers_planted_order():
    rng = np.random.default_rng(2024)
    strengths = [0.0, 0.5, 1.0]  # log-odds
    games = _simulate_games(rng, strengths, 3000)
    rows = m.bradley_terry_bootstrap(games, players=["m0", "m1", "m2", "idle"], n_resamples=200, seed=0)
    by_player = {row.player: row for row in rows}
    assert [row.player for row in rows] == ["m2", "m1", "m0", "idle"]
    assert [row.rank for row in rows] == [1, 2, 3, None]
    top, middle, bottom = by_player["m2"], by_player["m1"], by_player["m0"]
    assert top.score > middle.score > bottom.score
    assert bottom.high < top.low  # intervals of the top and bottom players do not overlap
    for row in (top, middle, bottom):
        assert row.low < row.score < row.high
    # Planted strengths on the score scale: 1000 + 400·(θ - mean θ)/ln 10 = 913.1, 1000, 1086.9;
    # with ~2000 games per player the standard error is ~10 points.
    for name, theta in zip(["m0", "m1", "m2"], strengths, strict=True):
        assert by_player[name].score == pytest.approx(1000 + 400 * (theta - 0.5) / math.log(10), abs=35)
    assert sum(r.score for r in (top, middle, bottom)) / 3 == pytest.approx(1000)
    idle = by_player["idle"]
    assert (idle.score, idle.low, idle.high, idle.rank, idle.rank_ub, idle.games) == (None, None, None, None, None, 0)
    assert top.rank_ub == 1
    assert bottom.rank_ub >= 2


def test_bradley_terry_bootstrap_deterministic_and_rank_ub():
    rng = np.random.default_rng(7)
    games = _simulate_games(rng, [0.0, 0.05, 2.0], 400)
    first = m.bradley_terry_bootstrap(games, n_resamples=100, seed=5)
    assert m.bradley_terry_bootstrap(games, n_resamples=100, seed=5) == first
    assert m.bradley_terry_bootstrap(games, n_resamples=100, seed=6) != first
    rows = {row.player: row for row in first}
    # m0 and m1 are nearly equal: overlapping intervals, both statistically worse only than m2.
    assert rows["m2"].rank_ub == 1
    assert rows["m1"].rank_ub == rows["m0"].rank_ub == 2
    # Rank (UB) from the intervals, as defined.
    for row in first:
        assert row.rank_ub == 1 + sum(other.low > row.high for other in first)


def test_bradley_terry_bootstrap_from_win_matrix():
    wins = [[0, 30, 40], [20, 0, 30], [10, 20, 0]]
    rows = m.bradley_terry_bootstrap(wins=wins, players=["a", "b", "c"], n_resamples=100)
    assert [row.player for row in rows] == ["a", "b", "c"]
    assert [row.games for row in rows] == [100.0, 100.0, 100.0]
    fit = m.bradley_terry(wins=wins, players=["a", "b", "c"])
    assert [row.score for row in rows] == pytest.approx([fit.scores[p] for p in "abc"])


def test_bradley_terry_bootstrap_is_fast():
    rng = np.random.default_rng(8)
    games = _simulate_games(rng, list(np.linspace(0, 2, 12)), 20_000)
    start = time.perf_counter()
    rows = m.bradley_terry_bootstrap(games, n_resamples=200)
    assert time.perf_counter() - start < 10.0
    assert len(rows) == 12


def test_elo_win_probability():
    assert m.elo_win_probability(1400, 1000) == pytest.approx(10 / 11)  # 400 points = 10:1 odds
    assert m.elo_win_probability(1000, 1000) == 0.5


def test_win_rate_matrix_hand_computed():
    # A beats B twice, B beats A once, A ties C once; B and C never met.
    games = [("A", "B"), ("A", "B"), ("B", "A"), ("A", "C", 0.5)]
    result = m.win_rate_matrix(games)
    assert result.players == ("A", "B", "C")
    np.testing.assert_array_equal(result.wins, [[0, 2, 0.5], [1, 0, 0], [0.5, 0, 0]])
    np.testing.assert_array_equal(result.games, [[0, 3, 1], [3, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(result.share, [[np.nan, 2 / 3, 0.5], [1 / 3, np.nan, np.nan], [0.5, np.nan, np.nan]])
    dropped = m.win_rate_matrix(games, ["A", "B", "C", "D"], ties="drop")
    assert dropped.games[0, 2] == 0
    assert dropped.wins.shape == (4, 4)


# --------------------------------------------------------------------------------------------------
# Biases
# --------------------------------------------------------------------------------------------------


def test_position_bias_hand_computed():
    labels = [
        (["a", "b"], {"a": 1, "b": 2}),  # first best: credit 1, chance 1/2
        (["b", "a"], {"a": 1, "b": 2}),  # first worst: 0, chance 1/2
        (["a", "b", "c"], {"a": 1, "b": 1, "c": 2}),  # first shares the top with b: 1/2, chance 1/3
        (["c", "a", "b"], {}),  # all bad: skipped
        (["a"], {"a": 1}),  # K = 1: skipped
        (["x", "a", "b"], {"a": 2, "b": 1}),  # x not ranked: first is a, worst: 0, chance 1/2
    ]
    result = m.position_bias(labels)
    # n = 4; credit 1.5, chance 1/2 + 1/2 + 1/3 + 1/2 = 11/6; variance 1/4·3 + 2/9 = 35/36.
    assert result.n == 4
    assert result.observed == pytest.approx(1.5 / 4)
    assert result.expected == pytest.approx(11 / 24)
    z = (1.5 - 11 / 6) / math.sqrt(35 / 36)  # -0.3381
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_position_bias_strong_and_none():
    biased = m.position_bias([(["a", "b"], {"a": 1, "b": 2})] * 100)
    # 100 of 100 vs 50 expected: z = 50 / sqrt(25) = 10.
    assert (biased.observed, biased.expected, biased.z) == (1.0, 0.5, 10.0)
    assert biased.p_value < 1e-20
    fair = m.position_bias([(["a", "b"], {"a": 1, "b": 2}), (["b", "a"], {"a": 1, "b": 2})])
    assert (fair.z, fair.p_value) == (0.0, 1.0)
    assert m.position_bias([]) == m.PositionBias(observed=None, expected=None, n=0, z=None, p_value=None)


def test_length_bias_hand_computed():
    # Equal lengths skipped; 2 of 3 chose the longer. Binomial(3, 1/2) pmf 1/8, 3/8, 3/8, 1/8: every
    # outcome is at most as likely as k = 2, so p = 1.
    result = m.length_bias([(10, 5), (20, 3), (5, 5), (1, 9)])
    assert (result.share, result.longer_chosen, result.n, result.p_value) == (2 / 3, 2, 3, 1.0)
    # 9 of 10: p = 2·(C(10,9) + C(10,10))/2^10 = 22/1024.
    result = m.length_bias([(2, 1)] * 9 + [(1, 2)])
    assert result.p_value == pytest.approx(22 / 1024, rel=1e-12)
    assert m.length_bias([(3, 3)]) == m.LengthBias(share=None, longer_chosen=0, n=0, p_value=None)


def test_length_bias_from_rankings():
    lengths = {"1": 100, "2": 50, "3": 10}
    pairs = m.preference_length_pairs({"1": 1, "2": 2, "3": 3}, lengths)  # longer always better
    result = m.length_bias(pairs * 5)
    assert (result.share, result.n) == (1.0, 15)
    assert result.p_value == pytest.approx(stats.binomtest(15, 15, 0.5).pvalue, rel=1e-12)


def test_binomial_two_sided_p_hand_computed():
    assert m.binomial_two_sided_p(9, 10) == pytest.approx(22 / 1024, rel=1e-12)
    assert m.binomial_two_sided_p(0, 5) == pytest.approx(2 / 32, rel=1e-12)
    assert m.binomial_two_sided_p(5, 10) == 1.0
    # n = 3, p = 0.3: pmf 0.343, 0.441, 0.189, 0.027; at most pmf(0) = 0.343: x = 0, 2, 3 -> 0.559.
    assert m.binomial_two_sided_p(0, 3, 0.3) == pytest.approx(0.559, rel=1e-12)


def test_binomial_two_sided_p_equals_scipy_small_n():
    rng = np.random.default_rng(31)
    for _ in range(1000):
        n = int(rng.integers(1, 300))
        k = int(rng.integers(0, n + 1))
        p = float(rng.choice([0.5, 0.1, 1 / 3, 0.9, rng.random()]))
        assert m.binomial_two_sided_p(k, n, p) == pytest.approx(stats.binomtest(k, n, p).pvalue, rel=1e-9, abs=0)


def test_binomial_two_sided_p_equals_scipy_large_n():
    rng = np.random.default_rng(32)
    for _ in range(40):
        n = int(rng.integers(1000, 1_000_000))
        p = float(rng.choice([0.5, rng.random()]))
        k = int(np.clip(rng.normal(n * p, 3 * math.sqrt(n * p * (1 - p)) + 1), 0, n))
        assert m.binomial_two_sided_p(k, n, p) == pytest.approx(stats.binomtest(k, n, p).pvalue, rel=1e-7, abs=0)


@pytest.mark.parametrize(
    ("k", "n", "p"), [(0, 5, 0.0), (1, 5, 0.0), (5, 5, 1.0), (4, 5, 1.0), (0, 1, 0.5), (1, 1, 0.5)]
)
def test_binomial_two_sided_p_edges_equal_scipy(k, n, p):
    assert m.binomial_two_sided_p(k, n, p) == stats.binomtest(k, n, p).pvalue


def test_binomial_two_sided_p_rejects_bad_input():
    for args in [(1, 0, 0.5), (3, 2, 0.5), (-1, 2, 0.5), (1, 2, 1.5), (1.5, 2, 0.5), (True, 2, 0.5)]:
        with pytest.raises(ValueError):
            m.binomial_two_sided_p(*args)


# --- small samples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 6, 30, 500])
def test_wilson_interval_matches_scipy(n):
    scipy_stats = pytest.importorskip("scipy.stats")
    for k in sorted({0, 1, n // 2, n - 1, n}):
        expected = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = m.wilson_interval(k, n)
        assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-12)
        assert low < k / n or k == 0
        assert high - low > 0
    assert m.wilson_interval(0, 0) == (None, None)
    low, high = m.wilson_interval(2.5, 5)  # ties count half a win
    assert low < 0.5 < high and (0.5 - low) == pytest.approx(high - 0.5)
    with pytest.raises(ValueError):
        m.wilson_interval(7, 6)


def test_bradley_terry_bootstrap_six_wins_of_six_is_not_certain():
    """6 comparisons all won: every bootstrap resample is the same 6 wins (the percentile interval is a
    point); the interval still has the width a sample of 6 deserves."""
    rows = {row.player: row for row in m.bradley_terry_bootstrap([("A", "B")] * 6, n_resamples=200, seed=0)}
    winner, loser = rows["A"], rows["B"]
    assert winner.score > 1000 > loser.score
    for row in (winner, loser):
        assert row.low < row.score < row.high
        assert row.high - row.low > 200  # ~ ±0.8 log-odds: 6 games say little
    # 6 games do not rank two models apart: the intervals overlap, both are rank (UB) 1.
    assert winner.low < loser.high and winner.rank_ub == loser.rank_ub == 1
    # The width follows the normal approximation of the penalised fit, centred like the scores.
    fit = m.bradley_terry([("A", "B")] * 6)
    theta_a = math.log(10) * (fit.scores["A"] - 1000) / 400
    p = 1 / (1 + math.exp(-2 * theta_a))  # P(A beats B); θ_A = -θ_B
    s = 1 / (1 + math.exp(-theta_a))
    w, own = 6 * p * (1 - p), s * (1 - s)  # the games' curvature, and the prior's (θ_A's and θ_B's are equal)
    info = np.array([[w + own, -w], [-w, w + own]])
    centring = np.eye(2) - 0.5
    se = math.sqrt((centring @ np.linalg.inv(info) @ centring.T)[0, 0])
    assert winner.high - winner.score == pytest.approx(1.959964 * 400 / math.log(10) * se, rel=1e-4)


def test_bradley_terry_bootstrap_small_samples_cover_the_truth():
    """Two models 0.5 log-odds apart, 8 comparisons: the 95 % interval of the difference holds the
    truth in at least 90 % of 200 simulated leaderboards (193 here; the bootstrap alone covered 185,
    with a zero-width interval whenever one model won all 8)."""
    rng = np.random.default_rng(11)
    truth = 400 * 0.25 / math.log(10)  # score of the stronger one: θ = ±0.25 around the mean
    covered = 0
    for trial in range(200):
        games = _simulate_games(rng, [0.0, 0.5], 8)
        rows = {row.player: row for row in m.bradley_terry_bootstrap(games, n_resamples=100, seed=trial)}
        top = rows.get("m1")
        covered += top is not None and top.low <= 1000 + truth <= top.high
    assert covered >= 180, covered
