"""Charts of an evaluation run's report (evaluation/report.py) as server-rendered inline SVG.

Built on the quality charts (labelhub.quality.templatetags.quality_charts): the same geometry, classes
and checks. Every value comes from stored JSON and is checked (`number`: a missing key, a string or a
NaN draws "n/a" or nothing, never an error); every text (track, tag and category names, question names)
goes through `format_html`. Each chart is `role="img"` with an aria-label, a <title> per row and a
visually-hidden data table. No inline styles (CSP): colours are classes in labelhub.css."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from labelhub.quality.templatetags.quality_charts import (
    NA,
    _c,
    _empty,
    _interval_chart,
    _join,
    _svg,
    _table,
    number,
    qc_int,
    qc_pct,
)

register = template.Library()

RESULT_WORDS = {"win": "Wins", "tie": "Ties", "loss": "Losses", "both_bad": "Both bad"}
SCORE_TICKS = [0.0, 0.25, 0.5, 0.75, 1.0]


def _get(data, *keys):
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _enough(estimate) -> bool:
    return isinstance(estimate, dict) and number(estimate.get("value")) is not None


@register.filter
def ev_signed_pct(value) -> str:
    """A difference of shares in percentage points: 0.031 → "+3.1 pts"; None → "n/a"."""
    value = number(value)
    return NA if value is None else f"{value * 100:+.1f} pts"


@register.filter
def ev_signed(value) -> str:
    """A signed difference: 0.42 → "+0.42"."""
    value = number(value)
    return NA if value is None else f"{value:+.2f}"


@register.filter
def ev_questions(value) -> list:
    """The per-question rows that are dicts (anything else in stored JSON is skipped)."""
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


@register.simple_tag
def ev_results_bar(results) -> SafeString:
    """Win / tie / loss / both bad as one stacked bar of label shares, with a legend."""
    shares = [(key, number(_get(results, key, "share")) or 0.0, _get(results, key, "count")) for key in RESULT_WORDS]
    if not isinstance(results, dict) or sum(s for _k, s, _n in shares) <= 0:
        return _empty("No labels yet.")
    width, bar_h, x = 640.0, 22.0, 0.0
    parts = []
    for key, share, count in shares:
        w = width * share
        parts.append(
            format_html(
                '<g class="qc-row"><title>{}: {} ({} labels)</title>'
                '<rect class="ev-{}" x="{}" y="0" width="{}" height="{}"></rect></g>',
                RESULT_WORDS[key],
                qc_pct(share),
                qc_int(count),
                key,
                _c(x),
                _c(w),
                _c(bar_h),
            )
        )
        x += w
    legend_x = 0.0
    for key, share, _count in shares:
        parts.append(
            format_html(
                '<rect class="ev-{}" x="{}" y="32" width="12" height="12"></rect>'
                '<text class="qc-legend" x="{}" y="42">{} {}</text>',
                key,
                _c(legend_x),
                _c(legend_x + 16),
                RESULT_WORDS[key],
                qc_pct(share, 0),
            )
        )
        legend_x += 160
    aria = "Label outcomes: " + ", ".join(f"{RESULT_WORDS[k]} {qc_pct(s)}" for k, s, _n in shares)
    chart = _svg(_join(parts), width=width, height=50, label=aria, css="ev-results")
    data = _table(
        "Label outcomes", ["", "Labels", "Share"], [[RESULT_WORDS[k], qc_int(n), qc_pct(s)] for k, s, n in shares]
    )
    return _join([chart, data])


def _score_row(name, estimate, n, items=None):
    """A row of `_interval_chart`: (label, value, low, high, n, items, enough)."""
    estimate = estimate if isinstance(estimate, dict) else {}
    return (str(name), estimate.get("value"), estimate.get("low"), estimate.get("high"), n, items, _enough(estimate))


@register.simple_tag
def ev_breakdown_chart(rows, by="track") -> SafeString:
    """Score (ties half) with its 95% bootstrap interval per group of a breakdown."""
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    return _interval_chart(
        [_score_row(r.get("name", ""), r.get("score"), r.get("n_pairs"), r.get("n_labels")) for r in rows],
        low=0.0, high=1.0, fmt=qc_pct, ticks=SCORE_TICKS, unit="pairs",
        aria=f"Score of the model under test with 95% intervals, by {by}",
        caption=f"Score by {by}", head=["Group", "Score", "Low", "High", "Pairs", "Labels"],
    )  # fmt: skip


def _span(rows) -> float:
    top = max((abs(number(v)) for r in rows for v in r[1:4] if number(v) is not None), default=0.0)
    for step in (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0):
        if top <= step * 0.8:
            return step
    return top


@register.simple_tag
def ev_difference_chart(rows, unit="labels", title="Difference") -> SafeString:
    """Paired differences (test − baseline) around 0 with their intervals; rows: (name, estimate, n)."""
    made = [_score_row(name, est, n, _get(est, "n_pairs")) for name, est, n in rows] if isinstance(rows, list) else []
    if not made:
        return _empty("Nothing to show yet.")
    span = _span(made)
    return _interval_chart(
        made, low=-span, high=span, fmt=ev_signed, ticks=[-span, -span / 2, 0.0, span / 2, span], unit=unit,
        aria=f"{title}: model under test minus baseline, with 95% intervals", caption=title,
        head=["Measure", "Difference", "Low", "High", unit.capitalize(), "Pairs"],
    )  # fmt: skip


@register.simple_tag
def ev_question_rows(questions) -> list:
    """(label, difference, n) rows of the per-question chart."""
    return [
        (f"{q.get('name', '')} ({'rate' if q.get('kind') == 'binary' else 'mean'})", q.get("difference"), q.get("n"))
        for q in ev_questions(questions)
    ]


@register.simple_tag
def ev_rate_rows(rates) -> list:
    rows = []
    for name, words in (("flag", "Flag rate"), ("unsafe", "Unsafe rate")):
        entry = _get(rates, name)
        if isinstance(entry, dict):
            rows.append((words, entry.get("difference"), entry.get("n")))
    return rows


@register.simple_tag
def ev_rates_chart(rates) -> SafeString:
    """Flag and unsafe rates of each side with their Wilson intervals."""
    rows = []
    for name, words in (("flag", "Flag rate"), ("unsafe", "Unsafe rate")):
        for side, who in (("test", "under test"), ("baseline", "baseline")):
            entry = _get(rates, name, side) or {}
            if not isinstance(entry, dict):
                entry = {}
            shown = {"value": entry.get("share"), "low": entry.get("low"), "high": entry.get("high")}
            rows.append(_score_row(f"{words}, {who}", shown, entry.get("n"), entry.get("count")))
    if not any(r[-1] for r in rows):
        return _empty("No flag or safety answers yet.")
    top = max((number(r[3]) or 0.0 for r in rows), default=0.0)
    high = next((s for s in (0.2, 0.4, 1.0) if top <= s), 1.0)
    return _interval_chart(
        rows, low=0.0, high=high, fmt=qc_pct, ticks=[high * i / 4 for i in range(5)], unit="labels",
        aria="Flag and unsafe rates of each side with 95% Wilson intervals", caption="Flag and unsafe rates",
        head=["Rate", "Share", "Low", "High", "Labels", "Counted"],
    )  # fmt: skip


@register.simple_tag
def ev_style_chart(style) -> SafeString:
    """The raw strength and the style-controlled one, as scores with their intervals."""
    n = _get(style, "n_pairs")
    rows = [
        _score_row("Raw", _get(style, "raw"), n, _get(style, "n")),
        _score_row("At equal style", _get(style, "controlled"), n, _get(style, "n")),
    ]
    return _interval_chart(
        rows, low=0.0, high=1.0, fmt=qc_pct, ticks=SCORE_TICKS, unit="pairs",
        aria="Score raw and controlled for style (length and markdown), with 95% intervals",
        caption="Style control", head=["Model", "Score", "Low", "High", "Pairs", "Labels"],
    )  # fmt: skip
