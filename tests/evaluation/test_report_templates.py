"""The report partials render any report (full, thin, malformed) and escape every name in it."""

import re

from django.template.loader import render_to_string

from labelhub.evaluation import report as R

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def hostile_report():
    pairs = R.simulate(seed=4, n_prompts=60, tracks={f"t{HOSTILE}": 0.5, "code": 0.7})
    pairs = [
        p._replace(
            tags=(f"tag{HOSTILE}", "plain"),
            category=f"</svg></title>{HOSTILE}",
            labels=tuple(
                lb._replace(test_answers={**lb.test_answers, f"q{HOSTILE}": 3}, baseline_answers={f"q{HOSTILE}": 2})
                for lb in p.labels
            ),
        )
        for p in pairs
    ]
    report = R.build_report(pairs, previous=R.simulate(seed=5, n_prompts=60), n_resamples=100)
    report["previous"]["run_number"] = HOSTILE
    return report


def assert_escaped(html: str):
    assert (
        "<script" not in html and "<img" not in html and "onerror=alert" not in html.replace("onerror=alert(2)&gt;", "")
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_partial_escapes_track_tag_category_and_question_names():
    html = render_to_string("evaluation/_report.html", {"report": hostile_report(), "run": None})
    assert_escaped(html)
    assert html.count('role="img"') >= 5 and "<title>" in html
    assert "Versus the previous run" in html and "not enough data" not in html.split("By category")[0]
    for svg in re.findall(r"<svg.*?</svg>", html, re.S):
        assert "<script" not in svg and "style=" not in svg


def test_alarms_partial_escapes_and_styles_levels():
    alarms = [
        {"level": "alarm", "kind": "unsafe_up", "track": None, "message": f"up {HOSTILE}"},
        {"level": "warning", "kind": "win_rate_low", "track": HOSTILE, "message": "low"},
    ]
    html = render_to_string("evaluation/_alarms.html", {"alarms": alarms})
    assert_escaped(html)
    assert "ev-alarm-alarm" in html and "ev-alarm-warning" in html
    assert "No alarms" in render_to_string("evaluation/_alarms.html", {"alarms": []})


def test_thin_and_malformed_reports_render():
    thin = R.build_report(R.simulate(seed=1, n_prompts=5), n_resamples=50)
    html = render_to_string("evaluation/_report.html", {"report": thin, "run": None})
    assert "Not enough data" in html and "not enough data" in html
    assert "No earlier finished run" in html
    empty = R.build_report([], n_resamples=50)
    assert "Not enough data" in render_to_string("evaluation/_report.html", {"report": empty, "run": None})
    for junk in ({}, None, {"overall": {"n_pairs": 3, "win": 1}, "alarms": []}, {"overall": {"score": "x"}}):
        render_to_string("evaluation/_report.html", {"report": junk, "run": None})
    broken = {**thin, "breakdowns": {"track": ["x", {"name": "n", "score": "bad"}]}, "questions": [1, {"name": 2}],
              "rates": {"flag": "x"}, "style": "x", "lengths": [], "previous": {"score": {"value": "x"}}}  # fmt: skip
    render_to_string("evaluation/_report.html", {"report": broken, "run": None})
