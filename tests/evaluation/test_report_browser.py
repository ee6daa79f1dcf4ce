"""The report partials in real Chromium with the site's stylesheet: axe-core finds nothing serious, and
nothing overflows sideways at 390 px (tables scroll inside named regions) or needs scrolling at 1366 px.
(The run page that includes them joins the axe and XSS sweeps with the RUNS stream.)"""

from pathlib import Path

import pytest
from django.template.loader import render_to_string

from tests.e2e.conftest import browser_type_launch_args  # noqa: F401 - Debian's Chromium
from tests.e2e.test_axe_sweep import AXE, FAILING_IMPACTS, SCREEN_JS

from .test_report_templates import hostile_report

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "labelhub.css"


def _page_html(report) -> str:
    body = render_to_string("evaluation/_alarms.html", {"alarms": report["alarms"]}) + render_to_string(
        "evaluation/_report.html", {"report": report, "run": None}
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Report</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f'<body><main class="container" id="main"><h1>Run</h1>{body}</main></body></html>'
    )


@pytest.mark.e2e
@pytest.mark.parametrize("size", [(390, 844), (1366, 768)])
def test_report_passes_axe_and_fits(page, size):
    report = hostile_report()
    report["alarms"].append({"level": "alarm", "kind": "unsafe_up", "track": "code", "message": "x" * 300})
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.set_content(_page_html(report))
    page.add_style_tag(path=str(CSS))
    page.add_script_tag(path=str(AXE))
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result if v["impact"] in FAILING_IMPACTS
    ]
    assert serious == []
    assert page.evaluate(SCREEN_JS, size[0] > 1000) == []
    assert dialogs == []
    page.screenshot(path=f"/tmp/ev-report-{size[0]}.png", full_page=True)
