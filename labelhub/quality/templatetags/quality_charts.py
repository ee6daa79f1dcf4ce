"""Charts of the quality pages as server-rendered inline SVG, and the formatting they share.

Every tag is a pure function from numbers (the stored statistics, see labelhub.quality.stats) to
markup: no queries, no JavaScript, nothing imported from the services. The statistics are JSON a
worker wrote, so every value is checked (a missing key, a None, a string where a number was
expected or a NaN draws "n/a" or nothing, never an error), and every text that reaches the markup
goes through `format_html` (escaped). Colours come from classes in the stylesheet (CSP: no inline
styles); each chart has an `aria-label` and <title> tooltips, and most come with a visually-hidden
data table for screen readers."""

from __future__ import annotations

import math
from datetime import date, datetime

from django import template
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

NA = "n/a"
NOT_ENOUGH = "not enough data"

# Geometry shared by the horizontal charts (user units of the viewBox; the SVG scales to its box).
WIDTH = 640
LABEL_W = 160
VALUE_W = 170
ROW_H = 26
BAR_H = 16
PAD = 8


# --- values and formatting -----------------------------------------------------------------------


def number(value) -> float | None:
    """A finite number from stored JSON, or None (bools, strings, NaN and infinities are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _c(value: float) -> str:
    """A coordinate."""
    return f"{value:.1f}"


def _join(parts) -> SafeString:
    """Concatenate fragments: safe ones (from format_html) as they are, anything else escaped."""
    return mark_safe("".join(str(conditional_escape(part)) for part in parts))  # noqa: S308 - each part escaped


def _short(text, size: int = 22) -> str:
    text = str(text)
    return text if len(text) <= size else text[: size - 1] + "…"


def _distinct_short(labels, size: int = 22) -> list[str]:
    """Each label shortened to `size`, and different labels never the same: two model configs whose
    names share a long prefix keep their ends ("Llama-3.1-70B-Ins…-v2"), and labels that still
    collide get a number ("…·2"). The full label is in each row's <title> and the table."""
    labels = [str(label) for label in labels]
    shown = [_short(label, size) for label in labels]
    if len(set(shown)) == len(set(labels)):
        return shown
    tail = max(3, size // 3)
    shown = [label if len(label) <= size else label[: size - tail - 1] + "…" + label[-tail:] for label in labels]
    seen: dict[str, list[str]] = {}
    for label, short in zip(labels, shown, strict=True):
        if label not in seen.setdefault(short, []):
            seen[short].append(label)
    return [
        short if len(seen[short]) == 1 else f"{short[: size - 3]}·{seen[short].index(label) + 1}"
        for label, short in zip(labels, shown, strict=True)
    ]


@register.filter
def qc_int(value) -> str:
    """1234 → "1,234"; not a number → "n/a"."""
    value = number(value)
    return NA if value is None else f"{round(value):,}"


@register.filter
def qc_num(value, digits=None) -> str:
    """A number with a precision that suits its size (or `digits` decimals); None → "n/a"."""
    value = number(value)
    if value is None:
        return NA
    if digits not in (None, ""):
        try:
            return f"{value:,.{max(0, min(int(digits), 6))}f}"
        except (TypeError, ValueError):
            pass
    size = abs(value)
    places = 0 if size >= 100 else 1 if size >= 10 else 2
    return f"{value:,.{places}f}"


@register.filter
def qc_pct(value, digits=1) -> str:
    """A share 0..1 as a percentage: 0.623 → "62.3%"; None → "n/a"."""
    value = number(value)
    if value is None:
        return NA
    try:
        places = max(0, min(int(digits), 3))
    except (TypeError, ValueError):
        places = 1
    return f"{value * 100:.{places}f}%"


@register.filter
def qc_p(value) -> str:
    """A p-value: 0.0123 → "0.012", tiny ones → "< 0.001"."""
    value = number(value)
    if value is None:
        return NA
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


@register.filter
def qc_ms(value) -> str:
    """A duration in milliseconds, readable: 850 ms, 3.2 s, 2 min 5 s, 1 h 4 min."""
    value = number(value)
    if value is None:
        return NA
    if value < 1000:
        return f"{value:.0f} ms"
    seconds = value / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter
def qc_when(value):
    """An ISO date or date-time string from the statistics → a datetime/date for |date (else None)."""
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value) or parse_date(value)
    except ValueError:
        return None


@register.filter
def qc_words(value) -> str:
    """snake_case → "Snake case" (flag, strength and safety names)."""
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def qc_items(value) -> list:
    """A dict's items in their order (for dict-valued statistics; anything else → [])."""
    return list(value.items()) if isinstance(value, dict) else []


@register.filter
def qc_get(mapping, key):
    """mapping[key] for keys a template cannot spell (e.g. "1" for guideline version 1)."""
    if isinstance(mapping, dict):
        return mapping.get(key, mapping.get(str(key)))
    return None


# --- flags -----------------------------------------------------------------------------------------


def _rule(rules, key):
    return number(rules.get(key)) if isinstance(rules, dict) else None


def _share(value) -> str:
    return f"{value * 100:g}%"


@register.simple_tag
def flag_explanation(flag, rules=None) -> str:
    """Why a labeler got an anomaly flag, with the thresholds the worker used (data["rules"])."""
    min_labels = _rule(rules, "min_labels")
    enough = f" (judged from {min_labels:g} labels on)" if min_labels is not None else ""
    bias_p = _rule(rules, "bias_p")
    significant = f"p < {bias_p:g}" if bias_p is not None else "statistically significant"
    if flag == "too_fast":
        fast_ms, share = _rule(rules, "too_fast_ms"), _rule(rules, "too_fast_share_of_median")
        parts = []
        if fast_ms is not None:
            parts.append(f"under {fast_ms / 1000:g} s")
        if share is not None:
            parts.append(f"under {_share(share)} of the project's median")
        return f"Median time on task {' or '.join(parts) or 'far below the project median'}{enough}."
    if flag == "position_bias":
        gap = _rule(rules, "position_bias_gap")
        above = f", at least {gap * 100:g} points above chance" if gap is not None else ""
        return f"Ranks the answer shown first best more often than chance ({significant}{above}){enough}."
    if flag == "length_bias":
        gap = _rule(rules, "length_bias_gap")
        how = f" in over {_share(0.5 + gap)} (or under {_share(0.5 - gap)})" if gap is not None else ""
        return f"Prefers the longer (or the shorter) answer{how} of strict preferences ({significant}){enough}."
    if flag == "low_gold_accuracy":
        low, minimum = _rule(rules, "low_gold_accuracy"), _rule(rules, "min_gold")
        below = f"below {_share(low)}" if low is not None else "low"
        over = f" over at least {minimum:g} gold items" if minimum is not None else ""
        return f"Accuracy on gold items {below}{over}."
    if flag == "low_agreement":
        low, minimum = _rule(rules, "low_agreement"), _rule(rules, "min_agreement_pairs")
        below = f"under {_share(low)}" if low is not None else "rarely"
        over = f" (over at least {minimum:g} candidate pairs)" if minimum is not None else ""
        return f"Agrees with the other labelers' majority {below} of the time{over}."
    return f"Flag “{flag}” raised by the statistics worker."


# --- shared pieces ---------------------------------------------------------------------------------


def _svg(body, *, width: float, height: float, label: str, css: str = "") -> SafeString:
    return format_html(
        '<svg class="qc-chart{}" viewBox="0 0 {} {}" role="img" aria-label="{}" focusable="false">{}</svg>',
        f" {css}" if css else "",
        _c(width),
        _c(height),
        label,
        body,
    )


def _table(caption: str, head: list[str], rows: list[list]) -> SafeString:
    """The chart's data as a visually-hidden table (screen readers; copy and paste). The wrapper is
    what hides it: a table cannot be narrower than its content, so a hidden table would still
    widen the page."""
    header = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in head))
    body = _join(
        format_html(
            '<tr><th scope="row">{}</th>{}</tr>',
            row[0],
            format_html_join("", "<td>{}</td>", ((cell,) for cell in row[1:])),
        )
        for row in rows
    )
    return format_html(
        '<div class="visually-hidden"><table><caption>{}</caption><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table></div>",
        caption,
        header,
        body,
    )


def _empty(message: str) -> SafeString:
    return format_html('<p class="qc-empty muted">{}</p>', message)


def _pairs(items) -> list[tuple[str, float]]:
    """(label, count) pairs from a dict or a list of pairs; non-numbers are dropped."""
    source = items.items() if isinstance(items, dict) else items if isinstance(items, list | tuple) else []
    out = []
    for entry in source:
        if isinstance(entry, list | tuple) and len(entry) == 2 and number(entry[1]) is not None:
            out.append((str(entry[0]), number(entry[1])))
    return out


def _hbars(pairs, *, unit: str, aria: str, caption: str, words: bool = False, compact: bool = False) -> SafeString:
    """Horizontal bars, one row per (label, value), longest = the largest value. `compact`: for a
    narrow column (a third of the page)."""
    if not pairs:
        return _empty("Nothing to show yet.")
    width, label_w, value_w = (360, 130, 56) if compact else (WIDTH, LABEL_W, 90)
    height = PAD * 2 + ROW_H * len(pairs)
    plot = width - label_w - value_w
    top = max((v for _l, v in pairs), default=0) or 1
    rows = []
    shorts = _distinct_short([qc_words(label) if words else label for label, _v in pairs], 18 if compact else 22)
    for i, (label, value) in enumerate(pairs):
        shown = qc_words(label) if words else label
        y = PAD + i * ROW_H
        w = max(plot * max(value, 0) / top, 0)
        rows.append(
            format_html(
                '<g class="qc-row"><title>{}: {} {}</title>'
                '<text class="qc-label" x="{}" y="{}" text-anchor="end" dy="0.35em">{}</text>'
                '<rect class="qc-bar" x="{}" y="{}" width="{}" height="{}"></rect>'
                '<text class="qc-value" x="{}" y="{}" dy="0.35em">{}</text></g>',
                shown,
                qc_int(value),
                unit,
                _c(label_w - 8),
                _c(y + ROW_H / 2),
                shorts[i],
                _c(label_w),
                _c(y + (ROW_H - BAR_H) / 2),
                _c(w),
                _c(BAR_H),
                _c(label_w + w + 6),
                _c(y + ROW_H / 2),
                qc_int(value),
            )
        )
    chart = _svg(_join(rows), width=width, height=height, label=aria, css="qc-compact" if compact else "")
    data = _table(
        caption,
        ["", unit.capitalize() or "Count"],
        [[qc_words(name) if words else name, qc_int(v)] for name, v in pairs],
    )
    return _join([chart, data])


# --- progress ----------------------------------------------------------------------------------------


@register.simple_tag
def progress_chart(progress) -> SafeString:
    """Labels per day as bars (left scale) and the cumulative total as a line (right scale)."""
    rows = []
    running = 0.0
    for entry in progress if isinstance(progress, list) else []:
        if not isinstance(entry, dict):
            continue
        labels = number(entry.get("labels")) or 0.0
        running += labels
        cumulative = number(entry.get("cumulative"))
        running = cumulative if cumulative is not None else running
        rows.append((str(entry.get("date") or ""), labels, running))
    if not rows:
        return _empty("No labels yet.")
    width, height = 720.0, 250.0
    left, right, top, bottom = 52.0, 64.0, 14.0, 46.0
    plot_w, plot_h = width - left - right, height - top - bottom
    max_day = max(r[1] for r in rows) or 1.0
    max_total = max(r[2] for r in rows) or 1.0
    step = plot_w / len(rows)
    gap = min(2.0, step * 0.2)
    base = top + plot_h
    bars, points = [], []
    for i, (day, labels, total) in enumerate(rows):
        h = plot_h * max(labels, 0) / max_day
        bars.append(
            format_html(
                '<g class="qc-day"><title>{}: {} labels ({} in total)</title>'
                '<rect class="qc-bar" x="{}" y="{}" width="{}" height="{}"></rect></g>',
                day,
                qc_int(labels),
                qc_int(total),
                _c(left + i * step + gap / 2),
                _c(base - h),
                _c(max(step - gap, 0.5)),
                _c(h),
            )
        )
        points.append(f"{_c(left + (i + 0.5) * step)},{_c(base - plot_h * max(total, 0) / max_total)}")
    line = format_html(
        '<polyline class="qc-line" points="{}"><title>Cumulative labels: {} on {}</title></polyline>',
        " ".join(points),
        qc_int(rows[-1][2]),
        rows[-1][0],
    )
    axes = format_html(
        '<line class="qc-axis" x1="{l}" y1="{b}" x2="{r}" y2="{b}"></line>'
        '<line class="qc-grid" x1="{l}" y1="{t}" x2="{r}" y2="{t}"></line>'
        '<text class="qc-tick" x="{lt}" y="{b}" text-anchor="end" dy="0.35em">0</text>'
        '<text class="qc-tick" x="{lt}" y="{t}" text-anchor="end" dy="0.35em">{max_day}</text>'
        '<text class="qc-tick qc-tick-line" x="{rt}" y="{t}" dy="0.35em">{max_total}</text>'
        '<text class="qc-tick" x="{l}" y="{d}">{first}</text>'
        '<text class="qc-tick" x="{r}" y="{d}" text-anchor="end">{last}</text>'
        '<rect class="qc-bar" x="{l}" y="{ly}" width="10" height="10"></rect>'
        '<text class="qc-legend" x="{lx}" y="{lyt}">labels per day (left scale)</text>'
        '<line class="qc-line" x1="{l2}" y1="{lyl}" x2="{l2e}" y2="{lyl}"></line>'
        '<text class="qc-legend" x="{l2x}" y="{lyt}">cumulative (right scale)</text>',
        l=_c(left),
        r=_c(left + plot_w),
        t=_c(top),
        b=_c(base),
        lt=_c(left - 6),
        rt=_c(left + plot_w + 6),
        d=_c(base + 16),
        max_day=qc_int(max_day),
        max_total=qc_int(max_total),
        first=rows[0][0],
        last=rows[-1][0] if len(rows) > 1 else "",
        ly=_c(height - 14),
        lyt=_c(height - 5),
        lyl=_c(height - 9),
        lx=_c(left + 14),
        l2=_c(left + 230),
        l2e=_c(left + 250),
        l2x=_c(left + 256),
    )
    aria = f"Labels per day from {rows[0][0]} to {rows[-1][0]}, {qc_int(rows[-1][2])} labels in total"
    chart = _svg(_join([axes, *bars, line]), width=width, height=height, label=aria)
    data = _table("Labels per day", ["Day", "Labels", "Cumulative"], [[d, qc_int(n), qc_int(t)] for d, n, t in rows])
    return _join([chart, data])


# --- counts ------------------------------------------------------------------------------------------


@register.simple_tag
def labeler_chart(labelers, limit=40) -> SafeString:
    """Labels per labeler, most first (the first `limit`; the labelers page has them all)."""
    pairs = [
        (str(row.get("username") or f"user {row.get('labeler_id')}"), number(row.get("labels")) or 0.0)
        for row in (labelers if isinstance(labelers, list) else [])
        if isinstance(row, dict)
    ]
    pairs.sort(key=lambda pair: (-pair[1], pair[0]))
    shown = pairs[: max(int(number(limit) or 40), 1)]
    chart = _hbars(
        shown, unit="labels", aria=f"Labels per labeler ({len(pairs)} labelers)", caption="Labels per labeler"
    )
    if len(pairs) > len(shown):
        chart = _join(
            [
                chart,
                format_html('<p class="muted small">The {} most active of {} labelers.</p>', len(shown), len(pairs)),
            ]
        )
    return chart


@register.simple_tag
def count_chart(counts, unit="times", title="Counts") -> SafeString:
    """A dict of counts (flags, safety verdicts) as horizontal bars, in the stored order."""
    return _hbars(_pairs(counts), unit=str(unit), aria=str(title), caption=str(title), words=True, compact=True)


@register.simple_tag
def strength_chart(strength, levels=None) -> SafeString:
    """How much better the preferred answer was, strongest (largest margin) first, each level named
    by its label in the schema (`levels`: distributions.strength_levels; "(unsure)" marks margin 0).
    Without levels (older statistics) the stored order and the names as words."""
    counts = dict(_pairs(strength))
    levels = [lv for lv in levels if isinstance(lv, dict) and "name" in lv] if isinstance(levels, list) else []
    if not levels:
        return _hbars(
            list(counts.items()), unit="labels", aria="Preference strength", caption="Preference strength",
            words=True, compact=True,
        )  # fmt: skip
    levels.sort(key=lambda lv: -(number(lv.get("margin")) or 0))
    known = {str(lv["name"]) for lv in levels}
    pairs = [
        (
            str(lv.get("label") or lv["name"]) + (" (unsure)" if lv.get("unsure") is True else ""),
            counts.get(str(lv["name"]), 0.0),
        )
        for lv in levels
    ]
    pairs += [(qc_words(name), n) for name, n in counts.items() if name not in known]
    if not any(n for _l, n in pairs):
        return _empty("No preference strengths yet.")
    return _hbars(pairs, unit="labels", aria="Preference strength", caption="Preference strength", compact=True)


def _counts(row: dict) -> list[tuple[object, float]]:
    """(shown value, count) of a distributions.questions entry: booleans as Yes / No, numbers as
    numbers (a scale's mean is drawn from them), anything else as text."""
    out = []
    for entry in row.get("counts") if isinstance(row.get("counts"), list) else []:
        if isinstance(entry, dict) and number(entry.get("n")) is not None:
            value = entry.get("value")
            if isinstance(value, bool):
                shown = "Yes" if value else "No"
            else:
                shown = int(value) if isinstance(value, int) else str(value)
            out.append((shown, number(entry["n"])))
    return out


@register.simple_tag
def question_chart(row) -> SafeString:
    """One question's answers (a distributions.questions entry): a scale or a yes/no question as
    vertical bars over its own values, a choice or multi-select one as horizontal bars (multi: how
    often each option was ticked, and how many answers ticked none)."""
    row = row if isinstance(row, dict) else {}
    label = str(row.get("label") or row.get("name") or "")
    pairs = _counts(row)
    if row.get("type") in ("scale", "binary"):
        return rating_histogram([n for _v, n in pairs], label, [v for v, _n in pairs])
    pairs = [(str(v), n) for v, n in pairs]
    if row.get("type") == "multi" and number(row.get("none")) is not None:
        pairs.append(("(none ticked)", number(row["none"])))
    if not any(n for _v, n in pairs):
        return _empty(f"No answers to {label} yet.")
    return _hbars(pairs, unit="answers", aria=label, caption=label, compact=True)


@register.simple_tag
def rating_histogram(counts, axis="", points=None) -> SafeString:
    """Counts per point of one scale as vertical bars, with the counts on top. `points`: the values
    shown under the bars (a scale's min..max); without them 1..len (older statistics: 1..7)."""
    values = [number(v) or 0.0 for v in counts] if isinstance(counts, list | tuple) else []
    if not isinstance(points, list | tuple) or len(points) != len(values):
        values = (values + [0.0] * 7)[:7] if points is None else values
        points = list(range(1, len(values) + 1))
    total = sum(values)
    name = qc_words(axis)
    if not total:
        return _empty(f"No {axis} answers yet.")
    width, height = 300.0, 170.0
    left, top, bottom = 8.0, 18.0, 24.0
    plot_w, plot_h = width - 2 * left, height - top - bottom
    step = plot_w / len(values)
    top_value = max(values) or 1.0
    bars = []
    for i, value in enumerate(values):
        h = plot_h * value / top_value
        x = left + i * step
        bars.append(
            format_html(
                '<g class="qc-row"><title>{} {}: {} answers ({})</title>'
                '<rect class="qc-bar" x="{}" y="{}" width="{}" height="{}"></rect>'
                '<text class="qc-value" x="{}" y="{}" text-anchor="middle">{}</text>'
                '<text class="qc-tick" x="{}" y="{}" text-anchor="middle">{}</text></g>',
                name,
                points[i],
                qc_int(value),
                qc_pct(value / total),
                _c(x + 3),
                _c(top + plot_h - h),
                _c(step - 6),
                _c(h),
                _c(x + step / 2),
                _c(top + plot_h - h - 4),
                qc_int(value),
                _c(x + step / 2),
                _c(height - 8),
                _short(points[i], 8),
            )
        )
    numeric = [number(p) for p in points]
    mean = "" if None in numeric else f" (mean {sum(p * v for p, v in zip(numeric, values, strict=True)) / total:.2f})"
    aria = f"{name}, {points[0]} to {points[-1]}: {', '.join(qc_int(v) for v in values)}{mean}"
    chart = _svg(_join(bars), width=width, height=height, label=aria, css="qc-small")
    data = _table(f"{name} answers", ["Answer", "Count"], [[p, qc_int(v)] for p, v in zip(points, values, strict=True)])
    return _join([chart, data])


# --- agreement ---------------------------------------------------------------------------------------


def _interval_rows(agreement, by: str) -> list[tuple[str, dict]]:
    agreement = agreement if isinstance(agreement, dict) else {}
    rows = [("All items", agreement.get("pairwise"))]
    if by == "track":
        groups = agreement.get("by_track")
        labels = agreement.get("track_labels") if isinstance(agreement.get("track_labels"), dict) else {}
        groups = groups.items() if isinstance(groups, dict) else []
        rows += [(f"Track {labels.get(key) or key}", value) for key, value in groups]
    else:
        groups = agreement.get("by_guideline_version")
        rows += [(f"Guidelines v{key}", value) for key, value in (groups.items() if isinstance(groups, dict) else [])]
    return [(label, value if isinstance(value, dict) else {}) for label, value in rows]


def _scale(value: float, low: float, high: float, plot: float) -> float:
    return plot * (min(max(value, low), high) - low) / (high - low)


@register.simple_tag
def agreement_chart(agreement, by="version") -> SafeString:
    """Pairwise agreement with its 95 % bootstrap interval as an error bar: all items first, then
    one row per guideline version (by="version") or per track (by="track")."""
    rows = _interval_rows(agreement, str(by))
    return _interval_chart(
        [
            (label, v.get("value"), v.get("low"), v.get("high"), v.get("n"), v.get("items"), _enough(v))
            for label, v in rows
        ],
        low=0.0,
        high=1.0,
        fmt=qc_pct,
        ticks=(0.0, 0.25, 0.5, 0.75, 1.0),
        aria=f"Pairwise agreement with 95% intervals, by {'track' if by == 'track' else 'guideline version'}",
        caption=f"Pairwise agreement by {'track' if by == 'track' else 'guideline version'}",
        head=["Group", "Agreement", "95% low", "95% high", "Pairs", "Items"],
    )


def _enough(row: dict) -> bool:
    """False when the statistics said the sample is too small to read (older results lack the key)."""
    return row.get("enough_data") is not False


def _interval_chart(rows, *, low, high, fmt, ticks, aria, caption, head, unit="pairs", table=True) -> SafeString:
    """One row per (label, value, low, high, n, items, enough): a point with a whisker from low to high,
    or "not enough data" (no point, no whisker) when enough is False."""
    if not rows:
        return _empty("Nothing to show yet.")
    plot = WIDTH - LABEL_W - VALUE_W
    axis_h = 22
    height = PAD + ROW_H * len(rows) + axis_h
    parts = []
    for tick in ticks:
        x = LABEL_W + _scale(tick, low, high, plot)
        parts.append(
            format_html(
                '<line class="qc-grid" x1="{x}" y1="{t}" x2="{x}" y2="{b}"></line>'
                '<text class="qc-tick" x="{x}" y="{ty}" text-anchor="middle">{}</text>',
                fmt(tick) if fmt is not qc_pct else qc_pct(tick, 0),
                x=_c(x),
                t=_c(PAD / 2),
                b=_c(PAD + ROW_H * len(rows)),
                ty=_c(height - 6),
            )
        )
    shorts = _distinct_short([row[0] for row in rows])
    for i, (label, value, lo, hi, n, _items, enough) in enumerate(rows):
        y = PAD + i * ROW_H + ROW_H / 2
        value, lo, hi = number(value), number(lo), number(hi)
        counts = f" · {qc_int(n)} {unit}" if number(n) is not None else ""
        if not enough:
            summary, mark = NOT_ENOUGH, SafeString("")
        elif value is None:
            summary, mark = NA, SafeString("")
        else:
            interval = f" [{fmt(lo)}, {fmt(hi)}]" if lo is not None and hi is not None else ""
            summary = f"{fmt(value)}{interval}"
            whisker = SafeString("")
            if lo is not None and hi is not None:
                x1, x2 = LABEL_W + _scale(lo, low, high, plot), LABEL_W + _scale(hi, low, high, plot)
                whisker = format_html(
                    '<line class="qc-ci" x1="{a}" y1="{y}" x2="{b}" y2="{y}"></line>'
                    '<line class="qc-ci" x1="{a}" y1="{y1}" x2="{a}" y2="{y2}"></line>'
                    '<line class="qc-ci" x1="{b}" y1="{y1}" x2="{b}" y2="{y2}"></line>',
                    a=_c(x1),
                    b=_c(x2),
                    y=_c(y),
                    y1=_c(y - 5),
                    y2=_c(y + 5),
                )
            mark = format_html(
                '{}<circle class="qc-point" cx="{}" cy="{}" r="4.5"></circle>',
                whisker,
                _c(LABEL_W + _scale(value, low, high, plot)),
                _c(y),
            )
        parts.append(
            format_html(
                '<g class="qc-row"><title>{}: {}{}</title>'
                '<text class="qc-label" x="{}" y="{}" text-anchor="end" dy="0.35em">{}</text>{}'
                '<text class="qc-value" x="{}" y="{}" dy="0.35em">{}</text></g>',
                label,
                summary,
                counts,
                _c(LABEL_W - 8),
                _c(y),
                shorts[i],
                mark,
                _c(WIDTH - VALUE_W + 8),
                _c(y),
                summary,
            )
        )
    chart = _svg(_join(parts), width=WIDTH, height=height, label=aria)
    if not table:
        return chart
    data = _table(
        caption,
        head,
        [
            [label, *((fmt(value), fmt(lo), fmt(hi)) if enough else (NOT_ENOUGH, NA, NA)), qc_int(n), qc_int(items)]
            for label, value, lo, hi, n, items, enough in rows
        ],
    )
    return _join([chart, data])


LEVEL_WORDS = {"interval": "interval", "nominal": "nominal", "set": "per option"}


def _question_rows(questions) -> list[tuple]:
    """Rows of _interval_chart from agreement.questions: one per question group (its label, the
    versions it pools when the name was defined differently elsewhere), then one per option of a
    multi-select question."""
    rows = []
    for q in questions:
        if not isinstance(q, dict):
            continue
        label = str(q.get("label") or q.get("name") or "")
        if "@" in str(q.get("key", "")):
            versions = q.get("versions") if isinstance(q.get("versions"), list) else []
            label += " (v" + ", v".join(str(v) for v in versions) + ")"
        rows.append((label, q.get("value"), q.get("low"), q.get("high"), q.get("values"), q.get("items"), _enough(q)))
        options = q.get("options") if isinstance(q.get("options"), dict) else {}
        for option, v in options.items():
            v = v if isinstance(v, dict) else {}
            rows.append(
                (
                    f"· {option}",
                    v.get("value"),
                    v.get("low"),
                    v.get("high"),
                    v.get("values"),
                    v.get("items"),
                    _enough(v),
                )
            )
    return rows


@register.simple_tag
def question_alpha_chart(questions, alpha=None) -> SafeString:
    """Krippendorff's alpha per question of the schema (agreement.questions) with its 95 % bootstrap
    interval over items, from -1 to 1; "not enough data" under the minimum number of items. Older
    statistics without per-question rows fall back to `alpha_chart`."""
    if not isinstance(questions, list):
        return alpha_chart(alpha)
    rows = _question_rows(questions)
    if not rows:
        return _empty("This schema asks no question that agreement can be measured on.")
    return _interval_chart(
        rows,
        low=-1.0,
        high=1.0,
        fmt=lambda v: NA if number(v) is None else f"{number(v):.3f}",
        ticks=(-1.0, -0.5, 0.0, 0.5, 1.0),
        aria="Krippendorff's alpha per question with 95% intervals",
        caption="Krippendorff's alpha per question",
        head=["Question", "Alpha", "95% low", "95% high", "Answers", "Items"],
        unit="answers",
    )


@register.simple_tag
def alpha_chart(alpha) -> SafeString:
    """Krippendorff's alpha per question (older statistics: {name: value}): bars from 0, to the left
    when negative (drawn down to -1; the value is written as it is); None → "n/a"."""
    alpha = alpha if isinstance(alpha, dict) else {}
    names = list(alpha)
    if not names:
        return _empty("No ratings rated by two labelers yet.")
    plot = WIDTH - LABEL_W - VALUE_W
    axis_h = 22
    height = PAD + ROW_H * len(names) + axis_h
    zero = LABEL_W + plot / 2
    parts = []
    for tick in (-1.0, -0.5, 0.0, 0.5, 1.0):
        x = LABEL_W + _scale(tick, -1.0, 1.0, plot)
        parts.append(
            format_html(
                '<line class="{}" x1="{x}" y1="{t}" x2="{x}" y2="{b}"></line>'
                '<text class="qc-tick" x="{x}" y="{ty}" text-anchor="middle">{}</text>',
                "qc-axis" if tick == 0 else "qc-grid",
                f"{tick:g}",
                x=_c(x),
                t=_c(PAD / 2),
                b=_c(PAD + ROW_H * len(names)),
                ty=_c(height - 6),
            )
        )
    rows = []
    for i, name in enumerate(names):
        value = number(alpha.get(name))
        y = PAD + i * ROW_H
        text = NA if value is None else f"{value:.3f}"  # "n/a": too few units rated twice
        if value is None:
            bar = SafeString("")
        else:
            end = LABEL_W + _scale(value, -1.0, 1.0, plot)
            bar = format_html(
                '<rect class="qc-bar{}" x="{}" y="{}" width="{}" height="{}"></rect>',
                " qc-neg" if value < 0 else "",
                _c(min(zero, end)),
                _c(y + (ROW_H - BAR_H) / 2),
                _c(abs(end - zero)),
                _c(BAR_H),
            )
        parts.append(
            format_html(
                '<g class="qc-row"><title>{}: alpha {}</title>'
                '<text class="qc-label" x="{}" y="{}" text-anchor="end" dy="0.35em">{}</text>{}'
                '<text class="qc-value" x="{}" y="{}" dy="0.35em">{}</text></g>',
                qc_words(name),
                text,
                _c(LABEL_W - 8),
                _c(y + ROW_H / 2),
                _short(qc_words(name)),
                bar,
                _c(WIDTH - VALUE_W + 8),
                _c(y + ROW_H / 2),
                text,
            )
        )
        rows.append([qc_words(name), text])
    aria = "Krippendorff's alpha per question: " + ", ".join(f"{r[0]} {r[1]}" for r in rows)
    chart = _svg(_join(parts), width=WIDTH, height=height, label=aria)
    return _join([chart, _table("Krippendorff's alpha per question", ["Question", "Alpha"], rows)])


# --- leaderboard -------------------------------------------------------------------------------------


@register.simple_tag
def leaderboard_scales(data) -> list[dict]:
    """The leaderboard's per-scale columns, [{key, label}]: data.leaderboard_scales, or (older
    statistics) the keys of the rows' `axes` as words."""
    data = data if isinstance(data, dict) else {}
    scales = data.get("leaderboard_scales")
    if isinstance(scales, list):
        return [
            {"key": str(s.get("key")), "label": str(s.get("label") or s.get("key"))}
            for s in scales
            if isinstance(s, dict)
        ]
    rows = data.get("leaderboard") if isinstance(data.get("leaderboard"), list) else []
    keys = dict.fromkeys(
        k for row in rows if isinstance(row, dict) and isinstance(row.get("axes"), dict) for k in row["axes"]
    )
    return [{"key": str(k), "label": qc_words(k)} for k in keys]


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


@register.simple_tag
def leaderboard_chart(leaderboard) -> SafeString:
    """Bradley–Terry score per model with its bootstrap interval as whiskers, best first."""
    rows = []
    for row in leaderboard if isinstance(leaderboard, list) else []:
        if isinstance(row, dict):
            rank = number(row.get("rank"))
            name = str(row.get("name") or row.get("key") or "?")
            label = f"{rank:.0f}. {name}" if rank is not None else name
            rows.append(
                (label, row.get("score"), row.get("low"), row.get("high"), row.get("comparisons"), None, _enough(row))
            )
    if not rows:
        return _empty("No model comparisons yet.")
    values = [v for r in rows if r[6] for v in (number(r[1]), number(r[2]), number(r[3])) if v is not None]
    if not values:
        low, high = -1.0, 1.0
    else:
        low, high = min(values), max(values)
        if high - low < 1e-9:
            low, high = low - 1, high + 1
        pad = (high - low) * 0.05
        low, high = low - pad, high + pad
    return _interval_chart(
        rows,
        low=low,
        high=high,
        fmt=qc_num,
        ticks=_nice_ticks(low, high),
        aria=f"Bradley–Terry scores of {len(rows)} models with bootstrap intervals",
        caption="Bradley–Terry scores",
        head=[],
        unit="comparisons",
        table=False,
    )


def _matrix(value, keys: list, size: int):
    """value as a size×size accessor: a list of lists, or a dict of dicts keyed by `keys`."""
    if isinstance(value, list) and len(value) == size and all(isinstance(r, list) and len(r) == size for r in value):
        return [[value[i][j] for j in range(size)] for i in range(size)]
    if isinstance(value, dict) and any(str(k) in value for k in keys):
        out = []
        for a in keys:
            row = value.get(str(a)) if isinstance(value.get(str(a)), dict) else {}
            out.append([row.get(str(b)) for b in keys])
        return out
    return None


RATE_KEYS = ("share", "win_rate", "win_rates", "rates", "rate", "matrix", "values")
COUNT_KEYS = ("counts", "count", "n", "games", "comparisons", "totals", "played")


@register.simple_tag
def win_matrix_table(win_matrix) -> dict | None:
    """The win-rate matrix as rows of cells for a heat-map table: {"names", "rows": [{"name",
    "cells": [{"text", "css", "title"}]}]}. The matrix is read defensively: a list of lists or a
    dict of dicts under any usual key ("win_rate", "rates", "matrix", …), optional counts beside it
    (or wins + counts); None when nothing usable is there."""
    if not isinstance(win_matrix, dict):
        return None
    names = win_matrix.get("players")
    if not isinstance(names, list) or not names:
        return None
    names = [str(n) for n in names]
    keys = win_matrix.get("keys") if isinstance(win_matrix.get("keys"), list) else names
    if len(keys) != len(names):
        keys = names
    size = len(names)
    rates = counts = None
    for key in RATE_KEYS:
        rates = rates or _matrix(win_matrix.get(key), keys, size)
    for key in COUNT_KEYS:
        counts = counts or _matrix(win_matrix.get(key), keys, size)
    wins = _matrix(win_matrix.get("wins"), keys, size)
    if rates is None and wins is not None and counts is not None:
        rates = [
            [(number(wins[i][j]) or 0) / number(counts[i][j]) if number(counts[i][j]) else None for j in range(size)]
            for i in range(size)
        ]
    if rates is None:
        for key, value in win_matrix.items():
            if key not in ("players", "keys", "wins", *COUNT_KEYS):
                rates = _matrix(value, keys, size)
                if rates is not None:
                    break
    if rates is None:
        return None
    rows = []
    for i, name in enumerate(names):
        cells = []
        for j, other in enumerate(names):
            rate = number(rates[i][j])
            n = number(counts[i][j]) if counts is not None else None
            if i == j:
                cells.append({"text": "—", "css": "qc-heat-self", "title": name})
                continue
            if rate is None or not 0 <= rate <= 1:
                cells.append({"text": NA, "css": "qc-heat-na", "title": f"{name} vs {other}: no comparisons"})
                continue
            games = f" over {qc_int(n)} comparisons" if n is not None else ""
            cells.append(
                {
                    "text": qc_pct(rate, 0),
                    "css": f"qc-heat-{min(int(rate * 10), 9)}",
                    "title": f"{name} beat {other} in {qc_pct(rate)}{games}",
                }
            )
        rows.append({"name": name, "cells": cells})
    return {"names": names, "rows": rows}
