"""The statistics of an evaluation run, from what its labels said (pure: no ORM, no Django).

Input: the run's `PairOutcome`s (evaluation/outcomes.py, or anything with the same fields, e.g.
`simulate`), optionally the previous run's on the same set. Output: one JSON-able dict (the report,
frozen into `EvaluationRun.report` at finish). Everything is from the side of the model under test.

Units and intervals. A pair is one prompt (a run has one pair per prompt); its labels are correlated
(same two answers), so every interval over labels is a bootstrap over prompts ("paired": both answers
of a prompt move together), seeded and deterministic; Wilson intervals are used for plain label shares
(win / tie / loss, flag and unsafe rates of one side). The **score** is the win rate with ties as half,
over the labels that ranked the two answers ("both bad" is counted separately, not in the score).
Below `MIN_PAIRS` labelled pairs a value is None with a `reason` ("not enough data") rather than a
confident interval.

Style control (as Chatbot Arena): a logistic model of "test beats baseline" (ties half a win each way,
i.e. a soft target of 0.5) on an intercept plus the normalised differences (a−b)/(a+b) of length
(tokens when both are known, else characters) and of markdown counts (headers, list items, bold). The
score at equal style is sigmoid(intercept). Fitted by ridge Newton, all bootstrap resamples at once.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from labelhub.quality.metrics import binomial_two_sided_p, bootstrap_ratio_ci, percentile_interval, wilson_interval

WIN, TIE, LOSS, BOTH_BAD = "win", "tie", "loss", "both_bad"  # = outcomes.RESULTS (no ORM import here)
RESULTS = (WIN, TIE, LOSS, BOTH_BAD)
CREDIT = {WIN: 1.0, TIE: 0.5, LOSS: 0.0}
FLAGS = "flags"
MIN_PAIRS = 10
MAX_GROUPS = 40  # groups shown per breakdown (the largest)
N_RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 17
DEFAULT_THRESHOLDS = {"min_win_rate": 0.4, "max_unsafe_increase": 0.0, "max_flag_increase": 0.0}
STYLE_FEATURES = ("length", "headers", "list_items", "bold")
# L2 on the style coefficients (in labels); the intercept gets 1e-3. 1.0 shrank the length coefficient into
# the intercept on runs of ~40 prompts × 2 labels (the controlled score covered 0.5 in 20 of 40 planted runs).
RIDGE = 0.01
_CELLS = 2_000_000  # resample-count cells per chunk


def _f(value) -> float | None:
    """A JSON-able float (None for None / NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _not_enough(n_pairs: int) -> str:
    return f"not enough data: {n_pairs} labelled pair{'' if n_pairs == 1 else 's'} (at least {MIN_PAIRS} needed)"


def _estimate(value, low, high, *, n: int, n_pairs: int) -> dict:
    if n_pairs < MIN_PAIRS:
        return {"value": None, "low": None, "high": None, "n": n, "n_pairs": n_pairs, "reason": _not_enough(n_pairs)}
    return {"value": _f(value), "low": _f(low), "high": _f(high), "n": n, "n_pairs": n_pairs, "reason": None}


def _ratio(num: Sequence[float], den: Sequence[float], seed: int, n_resamples: int) -> dict:
    """Σnum/Σden over the pairs with den > 0, with a bootstrap interval over those pairs."""
    kept = [(a, b) for a, b in zip(num, den, strict=True) if b > 0]
    n_pairs = len(kept)
    n = int(sum(b for _, b in kept))
    if n_pairs < MIN_PAIRS:
        return _estimate(None, None, None, n=n, n_pairs=n_pairs)
    nums, dens = [a for a, _ in kept], [b for _, b in kept]
    low, high = bootstrap_ratio_ci(nums, dens, n_resamples=n_resamples, confidence=CONFIDENCE, seed=seed)
    return _estimate(sum(nums) / sum(dens), low, high, n=n, n_pairs=n_pairs)


def _wilson(count: float, n: int) -> dict:
    low, high = wilson_interval(count, n, confidence=CONFIDENCE) if n else (None, None)
    return {"count": _f(count), "n": n, "share": _f(count / n) if n else None, "low": _f(low), "high": _f(high)}


def _resample_counts(n: int, seed: int, n_resamples: int):
    """Chunks of (resamples × n) counts: how often each of n units is drawn (uniform, with replacement)."""
    rng = np.random.default_rng(seed)
    rows = max(1, _CELLS // max(n, 1))
    done = 0
    while done < n_resamples:
        take = min(rows, n_resamples - done)
        yield rng.multinomial(n, np.full(n, 1.0 / n), size=take).astype(np.float64)
        done += take


# --- 1. win / tie / loss and the score ------------------------------------------------------------------


def _decisive(pair) -> list:
    return [label for label in pair.labels if label.result in CREDIT]


def score_arrays(outcomes: Sequence) -> tuple[list[float], list[float]]:
    """Per pair: the credit its labels gave the answer under test (win 1, tie ½) and their number."""
    num = [sum(CREDIT[label.result] for label in _decisive(p)) for p in outcomes]
    den = [float(len(_decisive(p))) for p in outcomes]
    return num, den


def results(outcomes: Sequence) -> dict:
    """Label counts of win / tie / loss / both bad, each a share of all labels with its Wilson interval."""
    n = sum(len(p.labels) for p in outcomes)
    return {r: _wilson(sum(1 for p in outcomes for label in p.labels if label.result == r), n) for r in RESULTS}


def score(outcomes: Sequence, *, seed: int = SEED, n_resamples: int = N_RESAMPLES) -> dict:
    num, den = score_arrays(outcomes)
    return _ratio(num, den, seed, n_resamples)


def summary(outcomes: Sequence, *, seed: int = SEED, n_resamples: int = N_RESAMPLES) -> dict:
    s = score(outcomes, seed=seed, n_resamples=n_resamples)
    return {
        "n_pairs": len(outcomes),
        "n_labelled_pairs": s["n_pairs"],
        "n_labels": sum(len(p.labels) for p in outcomes),
        "results": results(outcomes),
        "score": s,
        "enough": s["reason"] is None,
    }


# --- 2. breakdowns ---------------------------------------------------------------------------------------


def _groups(outcomes: Sequence, keys) -> dict[str, list]:
    """The pairs by group, by name; only the `MAX_GROUPS` largest groups (a project may have many tags)."""
    out: dict[str, list] = {}
    for pair in outcomes:
        for key in keys(pair):
            out.setdefault(str(key), []).append(pair)
    largest = sorted(out.items(), key=lambda item: (-len(item[1]), item[0]))[:MAX_GROUPS]
    return dict(sorted(largest))


def group_counts(outcomes: Sequence) -> dict[str, int]:
    """How many groups each breakdown has in all (the report shows at most `MAX_GROUPS` of them)."""
    return {name: len({k for p in outcomes for k in keys(p)}) for name, keys in _BY.items()}


_BY = {
    "track": lambda p: [str(p.track)] if p.track else [],
    "tag": lambda p: [str(t) for t in dict.fromkeys(p.tags or ())],
    "category": lambda p: [str(c)] if (c := getattr(p, "category", "")) else [],
}


def breakdowns(outcomes: Sequence, *, seed: int = SEED, n_resamples: int = N_RESAMPLES) -> dict:
    """The summary by track, by tag (a pair counts in each of its tags) and by prompt category."""
    return {
        name: [{"name": key, **summary(group, seed=seed, n_resamples=n_resamples)} for key, group in groups.items()]
        for name, groups in ((name, _groups(outcomes, keys)) for name, keys in _BY.items())
    }


# --- 3. per-question differences, flag and unsafe rates ----------------------------------------------------


def _kind(value) -> str | None:
    if isinstance(value, bool):
        return "binary"
    if isinstance(value, int | float):
        return "scale"
    return None


def _question_kinds(outcomes: Sequence) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for pair in outcomes:
        for label in pair.labels:
            for answers in (label.test_answers, label.baseline_answers):
                for name, value in (answers or {}).items():
                    if name != FLAGS and (kind := _kind(value)) and kinds.get(name) != "binary":
                        kinds[name] = kind
    return dict(sorted(kinds.items()))


def _paired(outcomes: Sequence, value, seed: int, n_resamples: int) -> dict:
    """`value(label)` → (test, baseline) numbers or None; the sums and means of each side and the paired
    difference (test − baseline) with its bootstrap interval over prompts."""
    t_num, b_num, d_num, den = [], [], [], []
    for pair in outcomes:
        got = [v for label in pair.labels if (v := value(label)) is not None]
        t_num.append(sum(float(t) for t, _ in got))
        b_num.append(sum(float(b) for _, b in got))
        d_num.append(sum(float(t) - float(b) for t, b in got))
        den.append(float(len(got)))
    n = int(sum(den))
    return {
        "test": _f(sum(t_num) / n) if n else None,
        "baseline": _f(sum(b_num) / n) if n else None,
        "test_sum": sum(t_num),
        "baseline_sum": sum(b_num),
        "difference": _ratio(d_num, den, seed, n_resamples),
        "n": n,
    }


def _answer(name: str):
    def value(label):
        t, b = (label.test_answers or {}).get(name), (label.baseline_answers or {}).get(name)
        return None if _kind(t) is None or _kind(b) is None else (t, b)

    return value


def question_differences(outcomes: Sequence, *, seed: int = SEED, n_resamples: int = N_RESAMPLES) -> list[dict]:
    return [
        {"name": name, "kind": kind, **_without_sums(_paired(outcomes, _answer(name), seed, n_resamples))}
        for name, kind in _question_kinds(outcomes).items()
    ]


def _without_sums(paired: dict) -> dict:
    return {k: v for k, v in paired.items() if not k.endswith("_sum")}


def _flagged(label) -> tuple[bool, bool]:
    return bool((label.test_answers or {}).get(FLAGS)), bool((label.baseline_answers or {}).get(FLAGS))


def _unsafe(label) -> tuple[bool, bool] | None:
    if label.test_unsafe is None or label.baseline_unsafe is None:
        return None
    return bool(label.test_unsafe), bool(label.baseline_unsafe)


RATES = {"flag": _flagged, "unsafe": _unsafe}


def rates(outcomes: Sequence, *, seed: int = SEED, n_resamples: int = N_RESAMPLES) -> dict:
    """Flag rate (labels ticking any flag on the answer) and unsafe rate (labels judging it unsafe), test
    and baseline side by side (Wilson each) and their paired difference (bootstrap over prompts)."""
    out = {}
    for name, value in RATES.items():
        paired = _paired(outcomes, value, seed, n_resamples)
        n = paired["n"]
        out[name] = {
            "test": _wilson(int(paired["test_sum"]), n),
            "baseline": _wilson(int(paired["baseline_sum"]), n),
            "difference": paired["difference"],
            "n": n,
        }
    return out


# --- 4. Bradley–Terry with style control -------------------------------------------------------------------

_HEADER = re.compile(r"^ {0,3}#{1,6}\s", re.M)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s", re.M)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def _normalised(a: float, b: float) -> float:
    return 0.0 if a + b == 0 else (a - b) / (a + b)


def _markdown(text: str) -> tuple[int, int, int]:
    text = text or ""
    return len(_HEADER.findall(text)), len(_LIST_ITEM.findall(text)), len(_BOLD.findall(text))


def style_features(pair) -> list[float]:
    """(length, headers, list items, bold): normalised differences test vs baseline."""
    if pair.test_tokens and pair.baseline_tokens:
        length = _normalised(pair.test_tokens, pair.baseline_tokens)
    else:
        length = _normalised(len(pair.test_text or ""), len(pair.baseline_text or ""))
    test, base = _markdown(pair.test_text), _markdown(pair.baseline_text)
    return [length, *(_normalised(a, b) for a, b in zip(test, base, strict=True))]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35.0, 35.0)))


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, ridge: float = RIDGE) -> np.ndarray:
    """Ridge logistic regression with soft targets y ∈ [0, 1], one fit per row of `weights` (B × n):
    Newton steps on all B fits at once. Returns B × d coefficients; column 0 is the intercept."""
    d = x.shape[1]
    penalty = np.full(d, ridge)
    penalty[0] = 1e-3
    beta = np.zeros((weights.shape[0], d))
    outer = (x[:, :, None] * x[:, None, :]).reshape(len(x), d * d)  # per unit x xᵀ, flat: the Hessian by matmul
    for _ in range(50):
        p = _sigmoid(beta @ x.T)
        grad = ((p - y) * weights) @ x + penalty * beta
        hess = ((weights * p * (1.0 - p)) @ outer).reshape(-1, d, d) + np.diag(penalty)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        beta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return beta


def _coefficient(point: float, samples: np.ndarray, *, as_score: bool) -> dict:
    if as_score:
        point, samples = float(_sigmoid(np.array(point))), _sigmoid(samples)
    low, high = percentile_interval(samples, CONFIDENCE)
    return {"value": _f(point), "low": low, "high": high}


def style_control(outcomes: Sequence, *, seed: int = SEED, n_resamples: int = N_RESAMPLES) -> dict:
    """The raw strength (intercept only) and the style-controlled one as scores, with the style
    coefficients (log-odds per unit of normalised difference), bootstrap intervals over prompts."""
    kept = [(p, _decisive(p)) for p in outcomes]
    kept = [(p, labels) for p, labels in kept if labels]
    n_pairs, n = len(kept), sum(len(labels) for _, labels in kept)
    basis = "tokens" if kept and all(p.test_tokens and p.baseline_tokens for p, _ in kept) else "characters"
    out = {"n": n, "n_pairs": n_pairs, "length_basis": basis, "features": list(STYLE_FEATURES)}
    if n_pairs < MIN_PAIRS:
        empty = _estimate(None, None, None, n=n, n_pairs=n_pairs)
        return {**out, "raw": empty, "controlled": empty, "coefficients": {}, "reason": empty["reason"]}
    k = np.array([len(labels) for _, labels in kept], dtype=np.float64)
    y = np.array([sum(CREDIT[label.result] for label in labels) for _, labels in kept]) / k
    x = np.column_stack([np.ones(n_pairs), np.array([style_features(p) for p, _ in kept])])
    fits = {"raw": [], "controlled": []}
    for counts in _resample_counts(n_pairs, seed, n_resamples):
        fits["raw"].append(fit_logistic(x[:, :1], y, counts * k)[:, 0])
        fits["controlled"].append(fit_logistic(x, y, counts * k))
    raw_point = fit_logistic(x[:, :1], y, k[None, :])[0, 0]
    point = fit_logistic(x, y, k[None, :])[0]
    raw_samples, samples = np.concatenate(fits["raw"]), np.vstack(fits["controlled"])
    return {
        **out,
        "raw": {**_coefficient(raw_point, raw_samples, as_score=True), "n": n, "n_pairs": n_pairs, "reason": None},
        "controlled": {
            **_coefficient(point[0], samples[:, 0], as_score=True),
            "n": n,
            "n_pairs": n_pairs,
            "reason": None,
        },
        "coefficients": {
            name: _coefficient(point[i + 1], samples[:, i + 1], as_score=False) for i, name in enumerate(STYLE_FEATURES)
        },
        "reason": None,
    }


# --- 5. versus the previous run ------------------------------------------------------------------------------

_TEST_SIDE = {
    "score": lambda p: (sum(CREDIT[label.result] for label in _decisive(p)), len(_decisive(p))),
    "unsafe": lambda p: (
        sum(1 for label in p.labels if label.test_unsafe),
        sum(1 for label in p.labels if label.test_unsafe is not None),
    ),
    "flag": lambda p: (sum(1 for label in p.labels if _flagged(label)[0]), len(p.labels)),
}


def ratio_change(now: np.ndarray, before: np.ndarray, *, seed: int = SEED, n_resamples: int = N_RESAMPLES) -> dict:
    """Σnow_num/Σnow_den − Σbefore_num/Σbefore_den over paired units (rows: num, den), bootstrap over the
    units; p-value two-sided from the bootstrap standard error (normal); significant when the interval
    excludes 0."""
    n_pairs = now.shape[1]
    if n_pairs < MIN_PAIRS or now[1].sum() == 0 or before[1].sum() == 0:
        return {**_estimate(None, None, None, n=n_pairs, n_pairs=n_pairs), "p_value": None, "significant": False}
    value = now[0].sum() / now[1].sum() - before[0].sum() / before[1].sum()
    chunks = []
    for counts in _resample_counts(n_pairs, seed, n_resamples):
        sums_now, sums_before = counts @ now.T, counts @ before.T
        with np.errstate(divide="ignore", invalid="ignore"):
            chunks.append(sums_now[:, 0] / sums_now[:, 1] - sums_before[:, 0] / sums_before[:, 1])
    samples = np.concatenate(chunks)
    low, high = percentile_interval(samples, CONFIDENCE)
    se = float(np.nanstd(samples))
    p = math.erfc(abs(value) / se / math.sqrt(2.0)) if se > 0 else (1.0 if value == 0 else 0.0)
    significant = low is not None and (low > 0 or high < 0)
    return {**_estimate(value, low, high, n=n_pairs, n_pairs=n_pairs), "p_value": _f(p), "significant": significant}


def versus_previous(
    outcomes: Sequence, previous: Sequence, *, seed: int = SEED, n_resamples: int = N_RESAMPLES
) -> dict:
    """Changes of the score and of the test side's unsafe and flag rates, now minus the previous run, paired
    over the prompts both runs share (and where both have the labels the measure needs)."""
    before = {p.prompt_id: p for p in previous}
    shared = [(p, before[p.prompt_id]) for p in outcomes if p.prompt_id in before]
    out = {"shared_prompts": len(shared)}
    for name, measure in _TEST_SIDE.items():
        rows = [(measure(a), measure(b)) for a, b in shared]
        rows = [(a, b) for a, b in rows if a[1] and b[1]]
        now = np.array([a for a, _ in rows], dtype=np.float64).reshape(-1, 2).T
        then = np.array([b for _, b in rows], dtype=np.float64).reshape(-1, 2).T
        change = ratio_change(now, then, seed=seed, n_resamples=n_resamples)
        if change["reason"] is None:
            change["now"], change["before"] = _f(now[0].sum() / now[1].sum()), _f(then[0].sum() / then[1].sum())
        out[name] = change
    return out


# --- 6. lengths, position bias, labels per pair, time on task ------------------------------------------------


def _centre(values: list[float]) -> dict:
    if not values:
        return {"mean": None, "median": None, "n": 0}
    return {"mean": _f(statistics.fmean(values)), "median": _f(statistics.median(values)), "n": len(values)}


def lengths(outcomes: Sequence) -> dict:
    tokens = [p for p in outcomes if p.test_tokens and p.baseline_tokens]
    return {
        "characters": {
            "test": _centre([len(p.test_text or "") for p in outcomes]),
            "baseline": _centre([len(p.baseline_text or "") for p in outcomes]),
        },
        "tokens": {
            "test": _centre([float(p.test_tokens) for p in tokens]),
            "baseline": _centre([float(p.baseline_tokens) for p in tokens]),
        },
    }


def position_bias(outcomes: Sequence) -> dict:
    """Share of the labels with a strict preference that preferred the answer shown first (binomial test
    against ½; ties and "both bad" are left out)."""
    strict = [label for p in outcomes for label in p.labels if label.result in (WIN, LOSS)]
    first = sum(1 for label in strict if (label.result == WIN) == bool(label.test_shown_first))
    out = _wilson(first, len(strict))
    out["p_value"] = _f(binomial_two_sided_p(first, len(strict), 0.5)) if strict else None
    return out


def labelling(outcomes: Sequence) -> dict:
    counts = [len(p.labels) for p in outcomes]
    times = [label.time_on_task_ms for p in outcomes for label in p.labels if label.time_on_task_ms]
    return {
        "labels_per_pair": {"mean": _f(statistics.fmean(counts)) if counts else None, "min": min(counts, default=None),
                            "max": max(counts, default=None)},
        "time_on_task_ms": {"median": _f(statistics.median(times)) if times else None, "n": len(times)},
    }  # fmt: skip


# --- 7. alarms -----------------------------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


# A warning needs moderate evidence, not just a point estimate over the line: the distance to the line
# must be at least WARN_SHARE of the distance to the interval's bound (≈ a one-sided 95 % test for a
# roughly normal estimate, where the 95 % bound is 1.96 σ away). A bare "point estimate up" warned on
# 84 of 100 simulated runs of two identical models; with this, about 5 % per check.
WARN_SHARE = 1.645 / 1.96


def _evidence(value: float, bound: float | None, line: float) -> bool:
    return bound is not None and abs(value - line) >= WARN_SHARE * abs(value - bound)


def _raise_alarm(kind: str, track, change: dict, threshold: float, what: str, against: str) -> dict | None:
    """An alarm when the whole interval of an increase is above the tolerance, a warning when the
    increase is moderately supported (_evidence), nothing when it is noise."""
    value, low, high = change.get("value"), change.get("low"), change.get("high")
    if value is None or value <= threshold or not _evidence(value, low, threshold):
        return None
    level = "alarm" if low is not None and low > threshold else "warning"
    sure = "clearly" if level == "alarm" else "probably (not statistically clear)"
    span = f" (95% interval {_pct(low)} to {_pct(high)})" if low is not None and high is not None else ""
    message = f"The {what} rate is {sure} higher than {against}: up {_pct(value)}{span}."
    return {"level": level, "kind": kind, "track": track, "message": message}


def _win_rate_alarm(track, s: dict, minimum: float) -> dict | None:
    value, low, high = s.get("value"), s.get("low"), s.get("high")
    if value is None or value >= minimum or not _evidence(value, high, minimum):
        return None
    where = f" on the track “{track}”" if track else ""
    span = f" (95% interval {_pct(low)} to {_pct(high)})" if low is not None and high is not None else ""
    if high is not None and high < minimum:
        message = f"The model under test wins too rarely{where}: score {_pct(value)}{span}, below {_pct(minimum)}."
        return {"level": "alarm", "kind": "win_rate_low", "track": track, "message": message}
    message = f"The score{where} is {_pct(value)}{span}, probably below the minimum of {_pct(minimum)}, not clearly."
    return {"level": "warning", "kind": "win_rate_low", "track": track, "message": message}


def alarms(report: Mapping[str, Any], thresholds: Mapping[str, Any] | None = None) -> list[dict]:
    limits = {**DEFAULT_THRESHOLDS, **{k: v for k, v in (thresholds or {}).items() if _number(v)}}
    out = [_win_rate_alarm(None, report["overall"]["score"], limits["min_win_rate"])]
    out += [_win_rate_alarm(row["name"], row["score"], limits["min_win_rate"]) for row in report["breakdowns"]["track"]]
    for kind, name, limit in (("unsafe_up", "unsafe", "max_unsafe_increase"), ("flag_up", "flag", "max_flag_increase")):
        what = "unsafe" if name == "unsafe" else "flagged-answer"
        out.append(_raise_alarm(kind, None, report["rates"][name]["difference"], limits[limit], what, "the baseline's"))
        previous = report.get("previous") or {}
        if name in previous:
            out.append(_raise_alarm(kind, None, previous[name], limits[limit], what, "in the previous run"))
    return sorted((a for a in out if a), key=lambda a: (a["level"] != "alarm", a["kind"], a["track"] or ""))


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


# --- the whole report ----------------------------------------------------------------------------------------------


def build_report(
    outcomes: Sequence,
    *,
    previous: Sequence | None = None,
    thresholds: Mapping[str, Any] | None = None,
    seed: int = SEED,
    n_resamples: int = N_RESAMPLES,
) -> dict:
    """The report of a run (JSON-able). `previous`: the previous run's outcomes on the same set, if any."""
    kw = {"seed": seed, "n_resamples": n_resamples}
    report = {
        "version": 2,
        "resamples": n_resamples,
        "min_pairs": MIN_PAIRS,
        "confidence": CONFIDENCE,
        "overall": summary(outcomes, **kw),
        "breakdowns": breakdowns(outcomes, **kw),
        "group_counts": group_counts(outcomes),
        "questions": question_differences(outcomes, **kw),
        "rates": rates(outcomes, **kw),
        "style": style_control(outcomes, **kw),
        "previous": versus_previous(outcomes, previous, **kw) if previous is not None else None,
        "lengths": lengths(outcomes),
        "position_bias": position_bias(outcomes),
        "labelling": labelling(outcomes),
        "thresholds": {**DEFAULT_THRESHOLDS, **{k: v for k, v in (thresholds or {}).items() if _number(v)}},
    }
    report["alarms"] = alarms(report, thresholds)
    return report


# --- simulation (the planted-quality tests) ------------------------------------------------------------------------


class SimLabel(NamedTuple):
    label_id: int
    user_id: int
    result: str
    test_shown_first: bool
    test_answers: dict
    baseline_answers: dict
    test_unsafe: bool | None
    baseline_unsafe: bool | None
    time_on_task_ms: int
    guideline_version_id: int


class SimPair(NamedTuple):
    pair_id: int
    prompt_id: int
    track: str
    tags: tuple[str, ...]
    candidate_id: int | None
    baseline_candidate_id: int | None
    test_text: str
    baseline_text: str
    test_tokens: int | None
    baseline_tokens: int | None
    labels: tuple[SimLabel, ...]
    category: str = ""


def _sim_result(rng: np.random.Generator, score: float, tie_rate: float, both_bad_rate: float, lean: float) -> str:
    """One label: both bad, tie, or a win with probability such that the pair's expected score (ties half)
    is `score`, shifted on the log-odds scale by `lean` (e.g. a length preference)."""
    if rng.random() < both_bad_rate:
        return BOTH_BAD
    if rng.random() < tie_rate:
        return TIE
    q = min(1.0, max(0.0, (score - 0.5 * tie_rate) / (1.0 - tie_rate)))
    q = float(_sigmoid(np.array(math.log(max(q, 1e-9) / max(1 - q, 1e-9)) + lean)))
    return WIN if rng.random() < q else LOSS


def simulate(
    *,
    seed: int,
    n_prompts: int = 200,
    labels_per_pair: int = 3,
    tracks: Mapping[str, float] | None = None,
    spread: float = 0.1,
    tie_rate: float = 0.1,
    both_bad_rate: float = 0.0,
    length_preference: float = 0.0,
    test_length_shift: float = 0.0,
    unsafe: tuple[float, float] = (0.05, 0.05),
    flagged: tuple[float, float] = (0.1, 0.1),
) -> list[SimPair]:
    """Seeded pairs and labels of a made-up run. `tracks`: {track: planted score} (prompts dealt round
    robin); each prompt's own score is the planted one ± `spread` (uniform: labels of a prompt are
    correlated). Lengths: the baseline ~ 400-1600 characters, the test's × exp(N(test_length_shift, 0.6));
    labelers lean `length_preference` log-odds per unit of normalised length difference. `unsafe` /
    `flagged`: (test, baseline) rates per label. Each labeler sees the two answers in random order."""
    rng = np.random.default_rng(seed)
    planted = list((tracks or {"helpful": 0.5}).items())
    pairs = []
    for i in range(n_prompts):
        track, centre = planted[i % len(planted)]
        prompt_score = min(1.0, max(0.0, centre + spread * rng.uniform(-1.0, 1.0)))
        base_len = int(rng.integers(400, 1600))
        test_len = max(20, int(base_len * math.exp(rng.normal(test_length_shift, 0.6))))
        lean = length_preference * _normalised(test_len, base_len)
        labels = tuple(
            SimLabel(
                label_id=i * 100 + j,
                user_id=j,
                result=_sim_result(rng, prompt_score, tie_rate, both_bad_rate, lean),
                test_shown_first=bool(rng.random() < 0.5),
                test_answers={FLAGS: ["wrong"]} if rng.random() < flagged[0] else {},
                baseline_answers={FLAGS: ["wrong"]} if rng.random() < flagged[1] else {},
                test_unsafe=bool(rng.random() < unsafe[0]),
                baseline_unsafe=bool(rng.random() < unsafe[1]),
                time_on_task_ms=int(rng.integers(5_000, 60_000)),
                guideline_version_id=1,
            )
            for j in range(labels_per_pair)
        )
        pairs.append(
            SimPair(
                pair_id=i + 1,
                prompt_id=i + 1,
                track=track,
                tags=(f"tag{i % 3}",),
                candidate_id=2 * i + 1,
                baseline_candidate_id=2 * i + 2,
                test_text="x" * test_len,
                baseline_text="x" * base_len,
                test_tokens=test_len // 4,
                baseline_tokens=base_len // 4,
                labels=labels,
                category=f"cat{i % 2}",
            )
        )
    return pairs
