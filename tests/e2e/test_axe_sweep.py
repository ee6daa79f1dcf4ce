"""Every page, every screen: axe-core and two screen sizes over every HTML page, real Chromium.

One world (the XSS sweep's: a project holding prompts, candidates, batches, labels, reviews, gold,
a quarantine, snapshots and guideline versions with diffs) and one browser context per role: every
page once as the admin; as the labeler the pages that differ for them (the workbench with a task);
as the reviewer the review queue. Each page is loaded once and then:

- axe-core (vendored: tests/e2e/vendor/axe.min.js, see its README) runs on it at 1366 x 768. The
  test prints a table per page (rule id, impact, count) and fails on any serious or critical
  violation of labelhub's own pages (the Django admin and the vendored Swagger page are reported,
  not failed: their templates are not ours);
- at 1366 x 768 and at 390 x 844 (a phone) the document must not scroll sideways
  (`scrollWidth > innerWidth`), nothing may be cut off by a box that clips without scrolling, and a
  box that scrolls sideways must be reachable by keyboard (tabindex) and named (a labelled region).
  A screenshot of each page at each size is saved under $E2E_SCREENSHOT_DIR, or the test's tmp dir.

The workbench is swept too (the labeler with a task on screen, the reviewer on the review queue).
"""

import os
import re
import time
from collections import Counter
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from labelhub.projects import services as project_services
from tests.e2e.test_xss_sweep import (  # noqa: F401 - fixtures used by name
    PASSWORD,
    build_world,
    hostile_inference,
    no_broker,
    project_get_paths,
)

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WIDE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
FAILING_IMPACTS = {"serious", "critical"}
# Pages whose markup is not labelhub's: reported, never failed.
THIRD_PARTY = re.compile(r"^/admin/|^/api/docs/")
# Violations in code another part of issue 15 is rewriting, reported with the fix they need; remove an
# entry once that code has it. (page pattern, rule) -> the fix.
KNOWN: dict[tuple[str, str], str] = {}  # (page pattern, rule) → why it is accepted for now

# Sideways overflow of the document; elements cut off by an ancestor that clips without scrolling;
# boxes that scroll sideways without being focusable and named.
SCREEN_JS = """(wide) => {
  const problems = [];
  const vw = window.innerWidth;
  const doc = document.documentElement;
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    if (el.classList.length) s += "." + [...el.classList].slice(0, 3).join(".");
    const text = (el.innerText || el.getAttribute("aria-label") || "").trim().replace(/\\s+/g, " ");
    return text ? `${s} "${text.slice(0, 40)}"` : s;
  };
  if (doc.scrollWidth > vw) {
    // The outermost elements that stick out (their parent does not): the ones to fix.
    const contained = (el) => {
      for (let box = el.parentElement; box && box !== doc; box = box.parentElement) {
        if (getComputedStyle(box).overflowX !== "visible") return true;
      }
      return false;
    };
    const all = [...document.body.querySelectorAll("*")];
    const out = new Set(all.filter((el) => el.getBoundingClientRect().right > vw + 1));
    const causes = [...out].filter((el) => !out.has(el.parentElement) && !contained(el));
    const names = causes.slice(0, 3).map(describe).join("; ");
    problems.push(`document scrolls sideways: ${doc.scrollWidth}px > ${vw}px (${names})`);
  }
  const reported = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.position === "fixed" || el.closest(".visually-hidden")) continue;
    if (reported.some((parent) => parent.contains(el))) continue;
    for (let box = el.parentElement; box && box !== doc; box = box.parentElement) {
      const ox = getComputedStyle(box).overflowX;
      if (ox === "visible") continue;
      const b = box.getBoundingClientRect();
      if (b.width < 2 || b.height < 2) break;  // visually hidden on purpose
      if ((ox === "hidden" || ox === "clip") && r.right > b.right + 1 && r.left < b.right) {
        problems.push(`${describe(el)} cut off by ${describe(box)} at ${Math.round(b.right)}px`);
        reported.push(el);
      }
      break;
    }
  }
  for (const box of document.body.querySelectorAll("*")) {
    const ox = getComputedStyle(box).overflowX;
    if ((ox === "auto" || ox === "scroll") && box.scrollWidth > box.clientWidth + 1 && box.clientWidth > 0) {
      const named = box.getAttribute("aria-label") || box.getAttribute("aria-labelledby");
      const focusable = box.tabIndex >= 0 || box.querySelector("a[href], button, input, select, textarea, [tabindex]");
      if (!named || !focusable) problems.push(`${describe(box)} scrolls sideways but is not a named, focusable region`);
      // On a laptop screen a table fits: nothing of it hidden behind a sideways scroll.
      else if (wide && box.querySelector(":scope > table")) {
        problems.push(`${describe(box)} does not fit: it scrolls sideways`);
      }
    }
  }
  return problems;
}"""


class Screens:
    """One role's browser context: axe-core in every page (an init script, which the CSP does not
    apply to), and the checks above after each page load."""

    def __init__(self, browser, live_server, role: str, shots: Path):
        self.base = live_server.url
        self.role = role
        self.shots = shots
        self.context = browser.new_context(base_url=self.base, viewport=WIDE)
        self.context.add_init_script(path=str(AXE))
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.axe: dict[str, list[tuple[str, str, int]]] = {}
        self.screen: list[str] = []
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.seconds: Counter = Counter()  # where the time goes: load, axe, screens, shots

    def login(self, user) -> None:
        self.page.goto(self.base + "/accounts/login/")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Log in").click()

    def visit(self, path: str, name: str | None = None) -> None:
        start = time.monotonic()
        response = self.page.goto(self.base + path)
        self.seconds["load"] += time.monotonic() - start
        if response is not None and response.status >= 500:
            self.errors.append(f"[{self.role}] HTTP {response.status} from {path}")
        self.check(name or path)

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        page.wait_for_timeout(50)  # htmx's first swaps
        key = f"{self.role} {name}"
        start = time.monotonic()
        result = page.evaluate(
            """async () => {
              const r = await axe.run(document, {resultTypes: ["violations"]});
              return r.violations.map((v) => [v.id, v.impact, v.nodes.length,
                v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " | " + (n.failureSummary || "").split("\\n")[1])]);
            }"""
        )
        self.axe[key] = result
        self.seconds["axe"] += time.monotonic() - start
        slug = re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-")[:120]
        for label, size in (("1366", WIDE), ("390", PHONE)):
            page.set_viewport_size(size)
            page.wait_for_timeout(30)
            start = time.monotonic()
            for problem in page.evaluate(SCREEN_JS, size is WIDE):
                self.screen.append(f"{key} @{label}px: {problem}")
            self.seconds["screens"] += time.monotonic() - start
            start = time.monotonic()
            self.screenshot(self.shots / f"{slug}-{label}.jpg")
            self.seconds["screenshots"] += time.monotonic() - start
        page.set_viewport_size(WIDE)

    def screenshot(self, path: Path) -> None:
        """The whole page, or the first screen of a very tall one (Chromium can take long over those
        on a loaded machine). A screenshot is for people to look at: one that times out is noted."""
        tall = self.page.evaluate("() => document.documentElement.scrollHeight") > 6000
        try:  # JPEG: much faster to encode than PNG for a tall page
            self.page.screenshot(path=str(path), full_page=not tall, type="jpeg", quality=70, timeout=30_000)
        except PlaywrightTimeoutError:
            self.notes.append(f"no screenshot {path.name}: timed out")

    def close(self) -> None:
        self.context.close()


def _axe_table(results: dict) -> tuple[str, list[str], dict]:
    lines, failing, per_rule = [], [], {}
    for key, violations in results.items():
        for rule, impact, count, nodes in violations:
            lines.append(f"{key:<60.60} {rule:<32} {impact:<9} {count}")
            per_rule.setdefault((rule, impact), [0, 0])
            per_rule[(rule, impact)][0] += 1
            per_rule[(rule, impact)][1] += count
            page = key.split(" ", 1)[1]
            if impact in FAILING_IMPACTS and not THIRD_PARTY.match(page) and not _known(page, rule):
                failing.append(f"{key}: {rule} ({impact}) x{count}: " + " ;; ".join(nodes))
    return "\n".join(lines), failing, per_rule


def _known(page: str, rule: str) -> str | None:
    return next((fix for (pattern, r), fix in KNOWN.items() if r == rule and re.search(pattern, page)), None)


def _shots_dir(tmp_path) -> Path:
    directory = Path(os.environ.get("E2E_SCREENSHOT_DIR") or tmp_path / "screens")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def sweep_labeler(s: Screens, w: dict) -> None:
    """The labeler: the pages that differ from the admin's (project list and overview, the
    guidelines to acknowledge, the workbench gate, a task on the workbench, the 403 page)."""
    p = w["project"].pk
    for path in ("/", f"/projects/{p}/", f"/projects/{p}/guidelines/"):
        s.visit(path)
    s.visit(f"/projects/{p}/label/", "workbench gate")
    with s.page.expect_navigation():
        s.page.get_by_role("button", name=re.compile("I have read version")).click()
    expect(s.page.locator("#wb-task h2, #wb-task h1").first).to_be_visible()
    s.check(f"/projects/{p}/label/ (a task)")
    s.visit(f"/projects/{p}/settings/", "a page the labeler may not open (403)")


def sweep_reviewer(s: Screens, w: dict) -> None:
    p = w["project"].pk
    project_services.guideline_acknowledge(project=w["project"], user=w["third"], number=_current(w))
    s.visit(f"/projects/{p}/label/", "reviewer workbench")
    s.visit(f"/projects/{p}/label/review/")


def _current(w: dict) -> int:
    return w["project"].guideline_versions.order_by("-number").first().number


def test_every_page_axe_and_screens(browser, live_server, hostile_inference, no_broker, tmp_path, capsys):  # noqa: F811
    start = time.monotonic()
    w = build_world(hostile_inference)
    world_seconds = time.monotonic() - start
    shots = _shots_dir(tmp_path)
    roles = []

    admin = Screens(browser, live_server, "admin", shots)
    roles.append(admin)
    admin.login(w["staff"])
    for path in project_get_paths(w):
        admin.visit(path)
    admin.visit("/admin/")
    admin.close()

    labeler = Screens(browser, live_server, "labeler", shots)
    roles.append(labeler)
    labeler.login(w["labeler"])
    sweep_labeler(labeler, w)
    labeler.close()

    reviewer = Screens(browser, live_server, "reviewer", shots)
    roles.append(reviewer)
    reviewer.login(w["third"])
    sweep_reviewer(reviewer, w)
    reviewer.close()

    anonymous = Screens(browser, live_server, "anonymous", shots)
    roles.append(anonymous)
    anonymous.visit("/accounts/login/")
    anonymous.close()

    results = {k: v for s in roles for k, v in s.axe.items()}
    table, failing, per_rule = _axe_table(results)
    screen = [line for s in roles for line in s.screen]
    errors = [line for s in roles for line in s.errors]
    notes = [line for s in roles for line in s.notes]
    with capsys.disabled():
        print(f"\naxe-core {_axe_version()} over {len(results)} pages; screenshots in {shots}")
        print(table or "no violations")
        for (pattern, rule), fix in KNOWN.items():
            print(f"known, not failed: {rule} on {pattern}: {fix}")
        print("\nper rule (pages, nodes):")
        for (rule, impact), (pages, nodes) in sorted(per_rule.items()):
            print(f"  {rule:<32} {impact:<9} {pages:>3} pages {nodes:>4} nodes")
        print("\nscreens:\n" + ("\n".join(screen) or "nothing cut off, no sideways scroll"))
        print("\n".join(notes))
        seconds = sum((s.seconds for s in roles), Counter(world=world_seconds))
        print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    assert not errors, "\n".join(errors)
    assert not failing, "serious/critical axe violations:\n" + "\n".join(failing)
    screen_failing = [line for line in screen if not THIRD_PARTY.match(line.split(" ", 1)[1])]
    assert not screen_failing, "screen problems:\n" + "\n".join(screen_failing)


def _axe_version() -> str:
    head = AXE.read_text(encoding="utf-8")[:40]
    return re.search(r"axe v([\d.]+)", head).group(1)


def test_the_checks_see_a_violation(browser, live_server, staff, project, tmp_path):
    """The canary: a page made inaccessible and too wide on purpose is caught by both checks."""
    s = Screens(browser, live_server, "canary", _shots_dir(tmp_path))
    s.login(staff)
    s.page.goto(f"{live_server.url}/projects/{project.pk}/")
    s.page.evaluate(
        """() => {
          const main = document.querySelector("main") || document.body;
          const button = document.createElement("button");  // no accessible name: critical
          main.appendChild(button);
          const clip = document.createElement("div");
          clip.style.cssText = "overflow:hidden;width:200px";
          const wide = document.createElement("p");
          wide.style.cssText = "width:600px";
          wide.textContent = "wide";
          clip.appendChild(wide);
          main.appendChild(clip);
          const scroller = document.createElement("div");
          scroller.style.cssText = "overflow-x:auto;width:200px;white-space:nowrap";
          scroller.appendChild(Object.assign(document.createElement("p"), {textContent: "x".repeat(400)}));
          main.appendChild(scroller);
          const huge = document.createElement("div");
          huge.style.cssText = "width:3000px;height:2px";
          document.body.appendChild(huge);
        }"""
    )
    s.check("canary")
    s.close()
    _, failing, _ = _axe_table({f"canary /projects/{project.pk}/": s.axe["canary canary"]})
    found = "\n".join(failing + s.screen)
    assert "button-name" in found, found
    assert "document scrolls sideways" in found, found
    assert "cut off by div" in found, found
    assert "not a named, focusable region" in found, found
