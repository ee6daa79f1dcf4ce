"""The report's statistics (labelhub/evaluation/report.py) against reference computations."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from labelhub.evaluation import report as R
from labelhub.quality.metrics import binomial_two_sided_p, bootstrap_ratio_ci, wilson_interval


def label(result, *, first=True, test=None, baseline=None, test_unsafe=None, baseline_unsafe=None, ms=1000):
    return R.SimLabel(0, 1, result, first, test or {}, baseline or {}, test_unsafe, baseline_unsafe, ms, 1)


def pair(i, labels, *, track="helpful", tags=(), category="", test_text="a", baseline_text="a", tokens=(None, None)):
    return R.SimPair(
        i, i, track, tuple(tags), 2 * i, 2 * i + 1, test_text, baseline_text, *tokens, tuple(labels), category
    )


def mixed_pairs(n=12):
    cycle = [("win", "win", "loss"), ("tie", "loss"), ("win", "both_bad"), ("loss",), ("win", "tie", "tie")]
    return [pair(i, [label(r) for r in cycle[i % len(cycle)]], track="a" if i % 2 else "b") for i in range(n)]


def test_score_is_the_win_rate_with_ties_half_and_a_bootstrap_over_prompts():
    pairs = mixed_pairs()
    num, den = R.score_arrays(pairs)
    wins = sum(1 for p in pairs for lb in p.labels if lb.result == "win")
    ties = sum(1 for p in pairs for lb in p.labels if lb.result == "tie")
    decisive = sum(1 for p in pairs for lb in p.labels if lb.result != "both_bad")
    got = R.score(pairs, seed=3, n_resamples=500)
    assert got["value"] == pytest.approx((wins + ties / 2) / decisive)
    assert (got["low"], got["high"]) == bootstrap_ratio_ci(num, den, n_resamples=500, seed=3)
    assert got["n"] == decisive and got["n_pairs"] == 12 and got["reason"] is None
    assert R.score(pairs, seed=3, n_resamples=500) == got  # deterministic


def test_win_tie_loss_shares_have_wilson_intervals_and_both_bad_is_separate():
    pairs = mixed_pairs()
    got = R.results(pairs)
    n = sum(len(p.labels) for p in pairs)
    assert sum(got[r]["count"] for r in R.RESULTS) == n
    assert (got["both_bad"]["low"], got["both_bad"]["high"]) == wilson_interval(got["both_bad"]["count"], n)
    assert got["both_bad"]["count"] == 2  # pairs 2 and 7


def test_not_enough_data_below_the_minimum_rather_than_an_interval():
    got = R.score(mixed_pairs(9))
    assert got["value"] is None and got["low"] is None and "not enough data" in got["reason"]
    summary = R.summary(mixed_pairs(9))
    assert summary["enough"] is False and summary["n_pairs"] == 9


def test_breakdowns_by_track_tag_and_category_say_when_groups_are_small():
    pairs = [
        pair(i, [label("win"), label("loss")], track="t", tags=["x", "y"] if i < 3 else ["x"], category="c" * (i % 2))
        for i in range(20)
    ]
    got = R.breakdowns(pairs)
    assert [(row["name"], row["n_pairs"], row["enough"]) for row in got["track"]] == [("t", 20, True)]
    assert [(row["name"], row["n_pairs"], row["enough"]) for row in got["tag"]] == [("x", 20, True), ("y", 3, False)]
    assert [(row["name"], row["n_pairs"]) for row in got["category"]] == [("c", 10)]
    assert got["tag"][0]["score"]["value"] == 0.5


def test_a_breakdown_shows_only_its_largest_groups():
    pairs = [pair(i, [label("win")], tags=[f"t{i:03}", "common"]) for i in range(R.MAX_GROUPS + 5)]
    shown = [row["name"] for row in R.breakdowns(pairs)["tag"]]
    assert len(shown) == R.MAX_GROUPS and "common" in shown and shown == sorted(shown)
    assert R.group_counts(pairs) == {"track": 1, "tag": R.MAX_GROUPS + 6, "category": 0}


def test_question_differences_are_paired_test_minus_baseline():
    pairs = [
        pair(i, [label("win", test={"helpful": 5, "correct": True}, baseline={"helpful": 3, "correct": i % 2 == 0})])
        for i in range(12)
    ]
    got = {row["name"]: row for row in R.question_differences(pairs)}
    assert got["helpful"]["kind"] == "scale" and got["correct"]["kind"] == "binary"
    assert got["helpful"]["test"] == 5 and got["helpful"]["baseline"] == 3
    assert got["helpful"]["difference"]["value"] == 2 and got["helpful"]["difference"]["low"] == 2
    assert got["correct"]["difference"]["value"] == pytest.approx(0.5)


def test_flag_and_unsafe_rates_side_by_side_with_the_paired_difference():
    pairs = [
        pair(
            i,
            [
                label("win", test={"flags": ["x"]} if i < 6 else {}, test_unsafe=i < 3, baseline_unsafe=False),
                label("win", test_unsafe=None, baseline_unsafe=False),  # no verdict on one side: left out
            ],
        )
        for i in range(12)
    ]
    got = R.rates(pairs)
    assert (
        got["flag"]["test"]["count"] == 6 and got["flag"]["test"]["n"] == 24 and got["flag"]["baseline"]["count"] == 0
    )
    assert got["unsafe"]["n"] == 12 and got["unsafe"]["test"]["share"] == 0.25
    assert got["unsafe"]["difference"]["value"] == pytest.approx(0.25)
    assert (got["unsafe"]["test"]["low"], got["unsafe"]["test"]["high"]) == wilson_interval(3, 12)


def test_logistic_fit_matches_a_direct_minimisation():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(50), rng.normal(size=(50, 2))])
    y = rng.choice([0.0, 0.5, 1.0], size=50)
    w = rng.integers(1, 4, size=50).astype(float)
    penalty = np.array([1e-3, R.RIDGE, R.RIDGE])

    def loss(beta):
        z = x @ beta
        return float(np.sum(w * (np.logaddexp(0, z) - y * z)) + 0.5 * np.sum(penalty * beta**2))

    expected = minimize(loss, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    assert R.fit_logistic(x, y, w[None, :])[0] == pytest.approx(expected, abs=1e-5)


def test_style_features_are_normalised_differences_of_length_and_markdown():
    p = pair(1, [], test_text="# H\n- a\n- b\n**x**", baseline_text="plain", tokens=(30, 10))
    assert R.style_features(p) == [0.5, 1.0, 1.0, 1.0]
    q = pair(2, [], test_text="aaa", baseline_text="a")
    assert R.style_features(q)[0] == 0.5  # characters when tokens are unknown


def test_style_control_raw_score_is_the_score():
    pairs = mixed_pairs(30)
    got = R.style_control(pairs, n_resamples=200)
    assert got["raw"]["value"] == pytest.approx(R.score(pairs)["value"], abs=1e-3)
    assert got["length_basis"] == "characters" and set(got["coefficients"]) == set(R.STYLE_FEATURES)
    assert R.style_control(mixed_pairs(5))["controlled"]["value"] is None


def test_versus_previous_is_paired_over_shared_prompts():
    now = [pair(i, [label("win")]) for i in range(15)]
    before = [pair(i, [label("loss")] if i % 3 else [label("win")]) for i in range(5, 25)]  # shares 5..14
    got = R.versus_previous(now, before, n_resamples=300)
    assert got["shared_prompts"] == 10
    shared_before = [p for p in before if p.prompt_id < 15]
    before_score = sum(1 for p in shared_before if p.labels[0].result == "win") / 10
    assert got["score"]["value"] == pytest.approx(1 - before_score)
    assert got["score"]["significant"] is True and got["score"]["low"] > 0 and got["score"]["p_value"] < 0.05
    assert R.versus_previous(now[:9], before, n_resamples=300)["score"]["value"] is None


def test_position_bias_counts_labels_preferring_the_first_shown_answer():
    pairs = [pair(i, [label("win", first=True), label("loss", first=True), label("tie")]) for i in range(10)]
    pairs.append(pair(99, [label("loss", first=False)] * 10))
    got = R.position_bias(pairs)
    assert (got["count"], got["n"]) == (20, 30)
    assert got["p_value"] == binomial_two_sided_p(20, 30)


def test_lengths_and_labelling():
    pairs = [
        pair(i, [label("win", ms=1000 * (i + 1))], test_text="x" * 10, baseline_text="x" * (i + 1)) for i in range(3)
    ]
    assert R.lengths(pairs)["characters"]["baseline"] == {"mean": 2.0, "median": 2.0, "n": 3}
    assert R.lengths(pairs)["tokens"]["test"]["n"] == 0
    assert R.labelling(pairs)["time_on_task_ms"]["median"] == 2000


def _report(score, *, unsafe=None, flag=None, previous=None, tracks=()):
    nothing = {"value": 0.0, "low": -0.1, "high": 0.1}
    return {
        "overall": {"score": score},
        "breakdowns": {"track": [{"name": name, "score": s} for name, s in tracks]},
        "rates": {"unsafe": {"difference": unsafe or nothing}, "flag": {"difference": flag or nothing}},
        "previous": previous,
    }


def test_alarms_levels_and_kinds():
    ok = {"value": 0.5, "low": 0.45, "high": 0.55}
    assert R.alarms(_report(ok)) == []
    low = R.alarms(
        _report({"value": 0.3, "low": 0.25, "high": 0.35}, tracks=[("code", {"value": 0.33, "low": 0.2, "high": 0.41})])
    )
    assert [(a["level"], a["kind"], a["track"]) for a in low] == [
        ("alarm", "win_rate_low", None),
        ("warning", "win_rate_low", "code"),
    ]
    assert R.alarms(_report(ok), {"min_win_rate": 0.6})[0]["level"] == "alarm"
    up = R.alarms(
        _report(ok, unsafe={"value": 0.05, "low": 0.01, "high": 0.09}, flag={"value": 0.03, "low": 0.0, "high": 0.06})
    )
    assert [(a["level"], a["kind"]) for a in up] == [("alarm", "unsafe_up"), ("warning", "flag_up")]
    # A rise within the noise (not even moderately supported) is neither: no warning on every other run.
    assert R.alarms(_report(ok, flag={"value": 0.01, "low": -0.03, "high": 0.05})) == []
    assert R.alarms(_report({"value": 0.38, "low": 0.3, "high": 0.46})) == []
    prev = R.alarms(_report(ok, previous={"unsafe": {"value": 0.1, "low": 0.02, "high": 0.2}, "flag": {"value": None}}))
    assert [(a["level"], a["kind"]) for a in prev] == [("alarm", "unsafe_up")] and "previous run" in prev[0]["message"]
    assert R.alarms(_report({"value": None, "low": None, "high": None})) == []


def test_build_report_contract_is_json():
    import json

    report = R.build_report(
        R.simulate(seed=1, n_prompts=40), previous=R.simulate(seed=2, n_prompts=40), n_resamples=100
    )
    assert set(report["overall"]["score"]) >= {"value", "low", "high", "n"}
    assert report["overall"]["n_pairs"] == 40 and report["overall"]["n_labels"] == 120
    assert all(set(a) == {"level", "kind", "track", "message"} for a in report["alarms"])
    assert json.loads(json.dumps(report)) == report
    assert not math.isnan(report["style"]["controlled"]["value"])


@pytest.mark.parametrize(
    "pairs",
    [
        R.simulate(seed=1, n_prompts=30, tracks={"a": 1.0}, spread=0, tie_rate=0),  # every label a win
        R.simulate(seed=1, n_prompts=30, tie_rate=1.0),  # every label a tie
        [p._replace(labels=()) for p in R.simulate(seed=1, n_prompts=30)],  # no labels yet
        [],
    ],
    ids=["all-wins", "all-ties", "no-labels", "no-pairs"],
)
def test_degenerate_runs_give_finite_json(pairs):
    import json

    report = R.build_report(pairs, previous=[], n_resamples=50)
    json.dumps(report, allow_nan=False)
    score = report["overall"]["score"]["value"]
    assert score is None or 0 <= score <= 1
    assert report["style"]["controlled"]["value"] is None or abs(report["style"]["controlled"]["value"] - score) < 1e-3
