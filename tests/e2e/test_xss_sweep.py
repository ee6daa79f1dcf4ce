"""XSS sweep: hostile text in every user- and model-supplied field, every HTML page, real Chromium.

One world is seeded through the real services (prompt import, generation against a hostile fake
inference server, the labeling, quality and export services), with the payloads of
tests/security/xss_corpus.py in every text field. Then an admin (site staff), a labeler and an
anonymous visitor load every HTML route of labelhub/*/urls.py and the Django admin, trigger every
htmx fragment (each `hx-get` on a page, and the `hx-post` buttons), and submit the forms whose
answers show stored text back (flash messages, re-rendered forms). For each page:

- no dialog (`alert`), no `window.__xss`, in any frame;
- no request to any host but the live server (every other request is recorded and aborted);
- the DOM holds no event-handler attribute, no javascript:/data: URL, no iframe/object/embed/base,
  nothing that loads from another host, no inline script (xss_corpus.DOM_SCAN_JS);
- the HTML as sent (pages and fragments) holds no payload unescaped (xss_corpus.html_problems);
- the console has no error (CSP violations included) besides the HTTP statuses provoked on purpose.

The Content-Security-Policy is switched to report-only for the sweep: escaping has to hold on its
own (the CSP is the second line, tested in the other browser tests), and anything the CSP would
have blocked is still reported in the console, which fails the sweep.

Coverage: every named route of the URL resolver must be loaded by the browser during the sweep or be
in SKIPPED (non-HTML routes, with the reason). A new page therefore fails this test until it is swept.
"""

import contextlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

import pytest
from axes.models import AccessFailureLog
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from playwright.sync_api import expect

from labelhub.accounts.services import api_token_create, set_password_link_create
from labelhub.evaluation import tasks as evaluation_tasks
from labelhub.evaluation.models import EvaluationRun, EvaluationSet
from labelhub.evaluation.services.sets import evaluation_set_create
from labelhub.exports import services as export_services
from labelhub.exports import tasks as export_tasks
from labelhub.exports.models import ExportSnapshot, SnapshotStatus
from labelhub.generation import services as generation_services
from labelhub.generation import tasks as generation_tasks
from labelhub.generation.models import GenerationJob, JobStatus, ModelConfig
from labelhub.labeling import services as labeling_services
from labelhub.labeling import tasks as labeling_tasks
from labelhub.labeling.models import Label, WorkItem, WorkKind
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from labelhub.projects.rubric_presets import hhh_schema
from labelhub.prompts import services as prompt_services
from labelhub.prompts import tasks as prompt_tasks
from labelhub.prompts.models import Prompt
from labelhub.quality import services as quality_services
from labelhub.quality import tasks as quality_tasks
from tests.factories import UserFactory
from tests.security.xss_corpus import ALL, DOM_SCAN_JS, LONG, PAYLOADS, fit, html_problems, shorts

PASSWORD = "correct horse battery staple"  # tests/factories.py

# Named routes the sweep does not load as pages, and why. Everything else must be loaded.
SKIPPED = {
    "healthz": "plain-text health probe for load balancers",
    "logout": "POST only; redirects to the login page (swept) and shows no stored data",
    "api:schema": "the OpenAPI schema (YAML/JSON), not HTML",
    "admin:jsi18n": "Django admin's JavaScript translation catalog",
    "admin:logout": "POST only; shows no stored data",
    "admin:view_on_site": "a redirect to an object's get_absolute_url (no admin model has one)",
    "admin:autocomplete": "JSON for autocomplete widgets (no admin here uses autocomplete_fields)",
}
# Every api:* route but the docs page answers JSON (the JSON escaping is the workbench's concern:
# it puts API text into the page with textContent only, which the workbench steps below exercise).
SKIPPED_PREFIXES = {"api:": "JSON API (the Swagger page api:docs is swept)"}
# Django admin: every model's changelist and change page are required. Its add, delete, history and
# password pages are Django's generic templates showing the same names; they are swept for the main
# models (ADMIN_FULL) and the user, not required for every model (time).
SKIPPED_PATTERNS = {re.compile(r"^admin:\w+_(add|delete|history|password_change)$"): "generic admin templates"}
ADMIN_FULL = {"projects.project", "prompts.prompt", "generation.modelconfig", "accounts.user", "projects.membership"}
NOT_SKIPPED = {"api:docs"}

# Console lines for HTTP errors the sweep provokes on purpose (a labeler on admin pages, a 404 probe,
# forms re-rendered with their errors).
EXPECTED_STATUS = re.compile(r"Failed to load resource: the server responded with a status of (400|403|404|409)")
# Console lines that are not about hostile text: Chromium's warning when a re-rendered form gives a
# number or date input the (escaped, inert) hostile value it refused; and the Swagger UI page's own
# inline styles (a style-src report about vendored code; injected styles are caught by the DOM scan).
HARMLESS_CONSOLE = re.compile(
    r"^The specified value .* (cannot be parsed|does not conform to the required format)"
    r"|^Applying inline style violates the following Content Security Policy directive 'style-src"
)


def route_names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from route_names(pattern, inner)
        elif pattern.name:
            yield f"{namespace}{pattern.name}"


def html_route_names() -> set[str]:
    names = set(route_names())
    return {
        name
        for name in names
        if name not in SKIPPED
        and (name in NOT_SKIPPED or not any(name.startswith(prefix) for prefix in SKIPPED_PREFIXES))
        and not any(pattern.match(name) for pattern in SKIPPED_PATTERNS)
    }


# A hostile OpenAI-compatible server: completions, model ids and error bodies full of payloads. ------


class _HostileInference(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        model = str(body.get("model", ""))
        if "refuse" in model:
            data = ("<html><body>" + fit(280, 3) + "</body></html>").encode()
            self.send_response(400)
            self.send_header("Content-Type", "text/html")
        else:
            data = json.dumps(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "model": "reported " + fit(180, 5),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": ALL}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def hostile_inference(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileInference)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.INFERENCE_ALLOWED_HOSTS = [f"127.0.0.1:{server.server_address[1]}"]
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_broker(monkeypatch):
    """Record what would go to the broker instead of sending it (nothing runs behind the pages)."""
    sent = []
    for task in (
        generation_tasks.generate_candidate_task,
        generation_tasks.model_config_check_task,
        quality_tasks.project_stats_task,
        export_tasks.snapshot_build_task,
        prompt_tasks.prompt_import_task,
        labeling_tasks.work_items_sync_task,
        evaluation_tasks.evaluation_run_advance_task,
    ):
        monkeypatch.setattr(task, "apply_async", lambda task=task, **kw: sent.append((task.name, kw)))
    return sent


@pytest.fixture
def report_only_csp(settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = django_settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = None


# The world ---------------------------------------------------------------------------------------


def _jsonl(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _line(text: str) -> str:
    return " ".join(text.split())


def hostile_schema(variant: int = 0) -> dict:
    """The HHH schema with hostile text in every free-text place a schema has, within its limits: track
    labels and descriptions, question labels, descriptions, hints (one line), point labels and the
    flag options. `variant` changes the labels (version 2 differs: the schema diff lists the changes)."""
    schema = hhh_schema(flags=["hallucination", *shorts(60, 19)])
    for i, track in enumerate(schema["tracks"]):
        track |= {"label": fit(80, variant + i), "description": fit(500, variant + i + 3)}
    for i, question in enumerate(schema["questions"]):
        question |= {"label": fit(80, variant + i + 5), "description": fit(1000, i), "hint": _line(fit(200, i + 7))}
        if question["type"] == "scale":
            question["point_labels"] = {str(question["min"]): fit(80, i + 9), str(question["max"]): fit(80, i + 10)}
    if variant:
        schema["questions"].append({"name": "concise", "type": "binary", "label": fit(80, variant), "hint": "x"})
    return schema


def build_world(inference_url: str) -> dict:
    staff = UserFactory(username="xss-admin", is_staff=True, is_superuser=True, display_name=fit(150))
    labeler = UserFactory(username="xss-labeler", display_name=fit(150, 1))
    other = UserFactory(username="xss-labeler2", display_name=fit(150, 2))
    third = UserFactory(username="xss-labeler3", display_name=fit(150, 4))
    temp = UserFactory(username="xss-temp", display_name=fit(150, 6))
    engineer = UserFactory(username="xss-engineer", display_name=fit(150, 8))

    project = project_services.project_create(
        user=staff, name=fit(200), description=ALL, demonstration_overlap=3, comparison_overlap=3
    )
    project = project_services.project_update(project=project, data={"gold_rate": 0.0})
    # Hostile flag options, labels, hints and track names live in the labeling schema that the guideline
    # versions below freeze.
    project_services.guideline_draft_save(project=project, user=staff, schema=hostile_schema())
    for user, role in (
        (labeler, Role.LABELER),
        (other, Role.LABELER),
        (third, Role.REVIEWER),
        (temp, Role.LABELER),
        (engineer, Role.ENGINEER),
    ):
        project_services.membership_add(project=project, username=user.username, role=role)
    # A second, plain project: lists and selects show more than one.
    project_services.project_create(user=staff, name=fit(200, 7), description=ALL)

    # Guidelines: Markdown with every trick, two versions (diffs), a draft; change notes hostile.
    project_services.guideline_version_publish(
        project=project, user=staff, change_note=fit(500), content="# Guidelines\n\n" + ALL
    )
    project_services.guideline_draft_save(project=project, user=staff, schema=hostile_schema(1))
    project_services.guideline_version_publish(
        project=project, user=staff, change_note=fit(500, 2), content="# Guidelines v2\n\n" + ALL + "\n\n" + ALL
    )
    for user in (other, third):
        project_services.guideline_acknowledge(project=project, user=user, number=2)

    # Prompts through the real import: full conversations (system message too), tags, metadata,
    # ids and candidates with hostile model names.
    records = [
        {
            "id": fit(200),
            "messages": [
                {"role": "system", "content": "system " + ALL},
                {"role": "user", "content": "first " + ALL},
                {"role": "assistant", "content": "assistant " + ALL},
                {"role": "user", "content": "user " + ALL},
            ],
            "tags": shorts(64, 8),
            "track": "helpful",
            "metadata": {fit(60): ALL, "nested": {"list": [ALL, fit(100, 3)]}},
            "candidates": [
                {"content": "cand-a " + ALL, "model": fit(200)},
                {"content": "cand-b " + ALL, "model": fit(200, 9)},
            ],
        },
        {
            "prompt": "red " + ALL,
            "track": "red-team",
            "tags": shorts(64)[8:],
            "candidates": [
                {"content": "red-a " + ALL, "model": fit(200, 2)},
                {"content": "red-b " + ALL, "model": "m"},
            ],
        },
        {"prompt": "generate " + ALL, "metadata": {"source": fit(200, 5)}},
        {
            "prompt": "adjudicate " + ALL,
            "candidates": [{"content": "adj-a " + ALL, "model": "m1"}, {"content": "adj-b " + ALL, "model": "m2"}],
        },
    ]
    done_import = prompt_services.prompt_import_start(
        project=project, user=staff, chunks=iter([_jsonl(records)]), filename=fit(240) + ".jsonl"
    )
    assert done_import.status == "done", done_import.message
    # An import that a worker has not picked up yet: its page polls (an htmx fragment).
    path, size, lines = prompt_services.spool_upload(chunks=iter([_jsonl(records[2:3])]), max_bytes=10**6)
    queued_import = prompt_services.prompt_import_create(
        project=project,
        user=staff,
        path=path,
        filename=fit(240, 4) + ".jsonl",
        file_format="jsonl",
        size=size,
        lines=lines,
    )
    prompts = list(Prompt.objects.filter(project=project).order_by("id"))
    full, red, bare, disputed = prompts

    # Generation against the hostile server: a config that works (hostile content, model id,
    # provenance) and one whose server refuses (hostile error bodies).
    good = generation_services.model_config_create(
        project=project,
        data={
            "name": fit(100),
            "base_url": inference_url + "/v1",
            "model": "ok " + fit(190, 1),
            "system_prompt": ALL,
            "stop": shorts(60, 4),
            "candidates_per_prompt": 2,
        },
    )
    bad = generation_services.model_config_create(
        project=project,
        data={"name": fit(100, 3), "base_url": inference_url + "/v1", "model": "refuse " + fit(190, 2)},
    )
    generation_services.model_config_check_run(config_id=good.pk)
    generation_services.model_config_check_run(config_id=bad.pk)
    good_batch = generation_services.generation_batch_create(
        project=project, user=staff, config=good, prompt_ids=[bare.pk]
    )
    bad_batch = generation_services.generation_batch_create(project=project, user=staff, config=bad, fewer_than=9)
    for job in GenerationJob.objects.filter(batch=good_batch):
        generation_services.generation_job_run(job_id=job.pk, task_id=job.task_id)
    for job in GenerationJob.objects.filter(batch=bad_batch).order_by("id")[:3]:
        generation_services.generation_job_run(job_id=job.pk, task_id=job.task_id)
    assert GenerationJob.objects.filter(batch=bad_batch, status=JobStatus.FAILED).exists()
    assert GenerationJob.objects.filter(batch=bad_batch, status=JobStatus.QUEUED).exists()  # still polling
    # A job waiting for its next attempt shows its last error (the batch page's retrying table): hostile.
    waiting = GenerationJob.objects.filter(batch=bad_batch, status=JobStatus.QUEUED).order_by("-id").first()
    GenerationJob.objects.filter(pk=waiting.pk).update(attempts=1, error=ALL)
    # The services refuse markup characters in a base URL; a row stored before that rule (or written
    # by hand) must still render inert.
    ModelConfig.objects.filter(pk=good.pk).update(base_url=inference_url + '/v1/"><svg onload=alert(1)>{{1337*1337}}')

    # Labeling through the services: demonstrations (from a candidate: a hostile diff), rankings with
    # hostile flags and rationales, a skip with a hostile reason, reviews with hostile comments.
    labeling_services.work_items_sync(project=project)
    hostile_flags = shorts(60, 19)[:3]
    for user in (third, other):  # the reviewer first: reviewers are only served items without labels
        skipped = False
        while (assignment := labeling_services.work_item_claim_next(project=project, user=user)) is not None:
            item = assignment.work_item
            if item.kind == WorkKind.DEMONSTRATION:
                if not skipped and user == third:
                    labeling_services.work_item_skip(user=user, reason=fit(500, 5), assignment_id=assignment.pk)
                    skipped = True
                    continue
                source = item.prompt.candidates.order_by("id").first()
                labeling_services.demonstration_submit(
                    user=user,
                    content="demo " + ALL + "\n" + fit(300, 2),
                    source_candidate_id=source.pk if source else None,
                    assignment_id=assignment.pk,
                )
            else:
                ids = [str(c) for c in item.candidate_ids]
                payload = {
                    "ranks": {ids[0]: 1, ids[1]: 1},
                    "ratings": {cid: {"helpful": 4, "truthful": 4, "harmless": 4} for cid in ids},
                    "flags": {ids[0]: hostile_flags},
                    "rationale": ("why " + ALL)[:2000],
                }
                if item.prompt.track != "helpful":
                    payload["safety"] = {cid: "unsafe" for cid in ids}
                labeling_services.ranking_submit(user=user, payload=payload, assignment_id=assignment.pk)
    first_label = Label.objects.filter(project=project).order_by("id").first()
    labeling_services.label_review(label_id=first_label.pk, reviewer=staff, accept=False, comment=ALL[:2000])

    # Quality: a quarantine (reason) lifted (release reason), gold with a note, a disputed item.
    quality_services.labeler_quarantine(project=project, user_id=temp.pk, actor=staff, reason=fit(1000, 1))
    quality_services.labeler_release(project=project, user_id=temp.pk, actor=staff, reason=fit(1000, 2))
    red_item = WorkItem.objects.get(prompt=red, kind=WorkKind.COMPARISON)
    quality_services.gold_set(
        work_item_id=red_item.pk,
        user=staff,
        data={"pairs": [[str(red_item.candidate_ids[0]), str(red_item.candidate_ids[1])]], "note": ALL[:2000]},
    )
    disputed_item = WorkItem.objects.get(prompt=disputed, kind=WorkKind.COMPARISON)
    WorkItem.objects.filter(pk=disputed_item.pk).update(needs_adjudication=True)
    quality_services.project_stats_refresh(project_id=project.pk)

    # Exports: a queued snapshot (its row polls), a failed one (hostile error and parameters), a
    # finished one (a download link).
    queued = export_services.snapshot_create(
        project=project, user=staff, kind="preferences", raw={"labeler": [other.username]}, send=False
    )
    failed = export_services.snapshot_create(
        project=project, user=staff, kind="sft", raw={"exclude_labeler": [third.username]}, send=False
    )
    # The service only stores labelers it resolved (a hostile name is refused, with the name cut
    # to 50 characters in the error), so hostile parameters and error text are written directly:
    # the pages must stay inert whatever the row holds.
    ExportSnapshot.objects.filter(pk=failed.pk).update(
        status=SnapshotStatus.FAILED, error=ALL, params={**failed.params, "labeler": fit(150, 3), fit(40): ALL[:500]}
    )
    done = export_services.snapshot_create(project=project, user=staff, kind="sft", raw={}, send=False)
    export_services.snapshot_build(snapshot_id=done.pk, task_id=done.task_id)

    # Evaluation: a set with a hostile name, description and reference answer, and a finished run
    # between hostile model configs (the history table and the score chart render).
    eval_set = evaluation_set_create(
        project=project, user=staff, name=fit(100, 11), description=ALL, prompt_ids=[prompts[0].pk, prompts[1].pk],
        references={str(prompts[0].pk): "ref " + ALL},
    )  # fmt: skip
    score = {"value": 0.55, "low": 0.4, "high": 0.7, "n": 20}
    EvaluationRun.objects.create(
        project=project, evaluation_set=eval_set, number=1, model_config=good, baseline_kind="config",
        baseline_config=bad, status="finished", report={"overall": {"score": score}, "alarms": []},
    )  # fmt: skip

    runs_world = _evaluation_runs(project, staff, good, full, bare)
    api_token_create(user=staff, name=fit(100, 6))
    # An account created by an admin that has not chosen its password: a hostile username (the members
    # page's "no password yet" row and the set-password page show it) and its one-time link.
    invited = UserFactory(username=fit(150, 9), email="invited@example.org")
    invited.set_unusable_password()
    invited.save()
    project_services.membership_add(project=project, username=invited.username, role=Role.LABELER)
    _link, invite_token = set_password_link_create(user=invited, created_by=staff, next_path="/" + fit(100, 2))
    # Django admin rows not made by labelhub: a group, and an axes failure log (written only when
    # AXES_ENABLE_ACCESS_FAILURE_LOG is on; the failed login of the sweep fills the other axes tables
    # with a hostile username and user agent through a real request).
    Group.objects.create(name=fit(150, 2))
    AccessFailureLog.objects.create(
        username=fit(255),
        user_agent=fit(255, 3),
        path_info="/" + fit(250, 5),
        http_accept=ALL[:1000],
        ip_address="127.0.0.1",
    )
    triage = triage_world(project, staff, [other, temp])
    return {
        "eval_set": eval_set,
        **triage,
        "invite_token": invite_token,
        "invited": invited,
        "staff": staff,
        "labeler": labeler,
        "other": other,
        "third": third,
        "temp": temp,
        "project": project,
        "prompts": prompts,
        "full": full,
        "red_item": red_item,
        "disputed_item": disputed_item,
        "good": good,
        "bad": bad,
        "good_batch": good_batch,
        "bad_batch": bad_batch,
        "done_import": done_import,
        "queued_import": queued_import,
        "queued_snapshot": queued,
        "failed_snapshot": failed,
        "done_snapshot": done,
        **runs_world,
    }


def triage_world(project, staff, labelers) -> dict:
    """A finished evaluation run (triage stream) whose condemned answers, baseline answers, prompt,
    track, flags and rationales are hostile; the pairs are full (never served to the sweep's labeler)."""
    from labelhub.evaluation.services.triage import triage_items_create
    from labelhub.projects.selectors import guideline_version_current
    from tests.evaluation import triage_builders as tb
    from tests.exports import builders as b

    version = guideline_version_current(project=project)
    prompts = [b.prompt(project, f"evaluated {i} " + ALL, track=fit(40, i))[0] for i in range(2)]
    evaluation_set = tb.evaluation_set(project, prompts, name=fit(100, 3))
    runs = [tb.run(evaluation_set, model=fit(100, 5)) for _ in range(2)]
    for run in runs:
        for prompt in prompts:
            pair = tb.pair(run, prompt, test_text="condemned " + ALL, baseline_text="baseline " + ALL)
            for user in labelers:
                tb.judge(
                    pair,
                    user,
                    version,
                    result="loss",
                    flags=shorts(60, 3),
                    unsafe=True,
                    rationale=ALL[:2000],
                    review_status="accepted",
                )
            WorkItem.objects.filter(pk=pair.work_item_id).update(taken=3)
        triage_items_create(run=run)
    return {"triage_set": evaluation_set, "triage_run": runs[0], "triage_items": list(runs[0].triage_items.all())}


def _evaluation_runs(project, staff, config, full, bare) -> dict:
    """Evaluation runs (RUNS stream) on sets with hostile names and references: one finished (the
    hostile server's answers, reused from the batch above, and its report frozen as the run's own
    finish would: written directly so no comparison item joins the labelers' queue), one still
    generating (its progress polls)."""
    from labelhub.evaluation.models import EvaluationSet, EvaluationSetPrompt, RunStatus
    from labelhub.evaluation.selectors.report import report_compute
    from labelhub.evaluation.services import runs as run_services
    from labelhub.prompts.models import Candidate

    sets = []
    for n, prompts in ((5, [bare]), (6, [full, bare])):
        eval_set = EvaluationSet.objects.create(
            project=project, name=fit(100, n), description=ALL, prompt_count=len(prompts), created_by=staff
        )
        for prompt in prompts:
            reference = Candidate.objects.create(prompt=prompt, content="reference " + ALL, source="reference")
            EvaluationSetPrompt.objects.create(evaluation_set=eval_set, prompt=prompt, reference=reference)
        sets.append(eval_set)
    done = run_services.evaluation_run_create(
        evaluation_set=sets[0],
        user=staff,
        model_config=config,
        baseline_kind="reference",
        thresholds={"min_win_rate": 0.5},
    )
    assert not done.batches.exists()  # every answer reused
    done.report, done.status, done.finished_at = report_compute(run=done), RunStatus.FINISHED, done.created_at
    done.save()
    live = run_services.evaluation_run_create(
        evaluation_set=sets[1], user=staff, model_config=config, baseline_kind="reference", labels_per_pair=3
    )
    return {"run_set": sets[1], "run_done": done, "run_live": live}


# The browser side -------------------------------------------------------------------------------


class Sweep:
    """One browser context (one role) with every check wired in."""

    def __init__(self, browser, live_server, role: str, **context_options):
        self.base = live_server.url
        self.host = urlsplit(self.base).netloc
        self.role = role
        self.context = browser.new_context(base_url=self.base, **context_options)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.failures: list[str] = []
        self.pages = 0
        self.covered: set[str] = set()
        self._responses = []
        self._console: list[str] = []
        self.step = "start"
        # Every request of the context is seen (pages, frames, fetches, htmx); one to any host but the
        # live server fails the sweep. Nothing can leave the machine: the payloads only name hosts
        # under .invalid, which never resolves. (No page.route: interception disables the HTTP
        # cache and doubled the sweep's time.)
        self.context.on("request", self._request)
        # A payload that sets window.__xss says so at once on the console (seen even when the page
        # then navigates away, e.g. through an injected <meta http-equiv=refresh>).
        self.context.add_init_script(
            """Object.defineProperty(window, "__xss", {configurable: true, get() { return this.__xssValue; },
                 set(v) { this.__xssValue = v; console.error("window.__xss set to " + v); }});"""
        )
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console_message)
        self.page.on("pageerror", lambda exc: self._fail(f"page error: {exc}"))
        self.page.on("response", lambda response: self._responses.append(response))

    def _fail(self, message: str) -> None:
        self.failures.append(f"[{self.role}] {self.step}: {message}")

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob", "about") and parts.netloc != self.host:
            self._fail(f"outbound request {request.method} {request.url}")

    def _dialog(self, dialog):
        self._fail(f"dialog {dialog.type}: {dialog.message!r}")
        with contextlib.suppress(Exception):  # the page may have navigated away, and the dialog with it
            dialog.dismiss()

    def _console_message(self, msg):
        text = msg.text
        relevant = msg.type in ("error", "warning") or "Content Security Policy" in text
        if relevant and not EXPECTED_STATUS.search(text) and not HARMLESS_CONSOLE.search(text):
            self._fail(f"console.{msg.type}: {text[:300]}")

    # Checks ---------------------------------------------------------------------------------------

    def check(self) -> None:
        """Everything the current page and the responses since the last check must satisfy."""
        page = self.page
        try:
            page.wait_for_load_state("load")
        except Exception as exc:  # noqa: BLE001 - reported, the sweep goes on
            self._fail(f"page did not load: {exc}")
        for frame in page.frames:
            try:
                if frame.evaluate("() => window.__xss"):
                    self._fail(f"window.__xss set in frame {frame.url}")
            except Exception:  # noqa: BLE001, S110 - a frame that went away ran nothing in our page
                pass
        try:
            for problem in page.evaluate(DOM_SCAN_JS, self.host):
                self._fail(f"DOM at {page.url}: {problem}")
        except Exception as exc:  # noqa: BLE001
            self._fail(f"DOM scan failed at {page.url}: {exc}")
        responses, self._responses[:] = list(self._responses), []
        for response in responses:
            parts = urlsplit(response.url)
            if parts.netloc != self.host:
                continue
            try:
                match = resolve(parts.path)
            except Resolver404:
                match = None
            if response.status >= 500:
                self._fail(f"HTTP {response.status} from {response.url}")
            if match is not None and response.status < 500:
                self.covered.add(match.view_name)
            if "text/html" not in (response.headers.get("content-type") or "") or 300 <= response.status < 400:
                continue
            try:
                body = response.text()
            except Exception:  # noqa: BLE001 - the page navigated away and the browser dropped the body
                if response.request.method != "GET":
                    self._fail(f"could not read the HTML of {response.request.method} {parts.path}")
                    continue
                hx = {k: v for k, v in response.request.headers.items() if k.lower().startswith("hx-")}
                body = self.context.request.get(response.url, headers=hx, max_redirects=0).text()
            for problem in html_problems(body, self.host):
                self._fail(f"HTML of {response.request.method} {parts.path}: {problem}")

    def visit(self, path: str, *, fire_htmx: bool = True) -> None:
        self.step = f"GET {path}"
        self.pages += 1
        self.page.goto(self.base + path)
        if fire_htmx:
            self.fire_htmx()
        self.check()

    def fire_htmx(self) -> None:
        """Load every hx-get fragment of the page through htmx itself (polls included), swapped
        where htmx would swap it."""
        self.page.wait_for_load_state("load")
        fired = 0
        try:
            fired = self.page.evaluate(
                """async () => {
                  if (!window.htmx) return 0;
                  let fired = 0;
                  for (const el of [...document.querySelectorAll("[hx-get]")]) {
                    if (!el.isConnected) continue;
                    const t = el.getAttribute("hx-target");
                    const target = !t || t === "this" ? el : document.querySelector(t);
                    const swap = el.getAttribute("hx-swap") || "innerHTML";
                    fired++;
                    try { await htmx.ajax("GET", el.getAttribute("hx-get"), {source: el, target, swap}); } catch (e) {}
                  }
                  return fired;
                }"""
            )
        except Exception:  # noqa: BLE001 - an HX-Refresh reloads the page mid-evaluate
            fired = 1
        if fired:
            self.page.wait_for_load_state("load")
            self.page.wait_for_timeout(100)

    def csrf(self) -> str:
        headers = self.page.evaluate("() => document.body.getAttribute('hx-headers')")
        return json.loads(headers)["X-CSRFToken"]

    def submit(self, path: str, fields: dict) -> None:
        """POST a form from the current page the way the browser submits one (not through JS fetch):
        whatever comes back (a page re-rendered with its errors, or a redirect and a flash message)
        is rendered and checked."""
        self.step = f"POST {path}"
        self.pages += 1
        items = [("csrfmiddlewaretoken", self.csrf())]
        for key, value in fields.items():
            items += [(key, v) for v in (value if isinstance(value, list) else [value])]
        with self.page.expect_navigation():
            self.page.evaluate(
                """([action, items]) => {
                  const form = document.createElement("form");
                  form.method = "post"; form.action = action;
                  for (const [name, value] of items) {
                    const input = document.createElement("textarea");
                    input.name = name; input.value = value; form.appendChild(input);
                  }
                  document.body.appendChild(form); form.submit();
                }""",
                [path, items],
            )
        self.check()

    def login(self, user) -> None:
        self.step = "login"
        self.page.goto(self.base + "/accounts/login/")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Log in").click()
        self.check()

    def close(self) -> None:
        self.context.close()


def project_get_paths(w: dict) -> list[str]:
    p = w["project"].pk
    base = f"/projects/{p}"
    paths = [
        "/",
        "/projects/new/",
        f"{base}/",
        f"{base}/settings/",
        f"{base}/members/",
        f"{base}/guidelines/",
        f"{base}/guidelines/v/1/",
        f"{base}/guidelines/v/2/",
        f"{base}/guidelines/diff/",
        f"{base}/guidelines/diff/?from=0&to=2&mode=side",
        f"{base}/guidelines/diff/?from=1&to=2&mode=rendered",
        f"{base}/guidelines/edit/",
        f"{base}/prompts/",
        f"{base}/prompts/?q=%3Cscript%3E&track=helpful",
        *[f"{base}/prompts/{prompt.pk}/" for prompt in w["prompts"]],
        f"{base}/prompts/import/",
        f"{base}/prompts/imports/{w['done_import'].pk}/",
        f"{base}/prompts/imports/{w['queued_import'].pk}/",
        f"{base}/generation/models/",
        f"{base}/generation/models/new/",
        f"{base}/generation/models/{w['good'].pk}/edit/",
        f"{base}/generation/models/{w['bad'].pk}/edit/",
        f"{base}/generation/batches/",
        f"{base}/generation/batches/new/",
        f"{base}/generation/batches/{w['good_batch'].pk}/",
        f"{base}/generation/batches/{w['bad_batch'].pk}/",
        f"/generation-batches/{w['good_batch'].pk}/",
        f"{base}/evaluation/sets/{w['run_set'].pk}/runs/new/",
        f"{base}/evaluation/runs/{w['run_done'].pk}/",
        f"{base}/evaluation/runs/{w['run_live'].pk}/",
        f"{base}/label/review/",
        f"{base}/label/review/?labeler=%3Cscript%3Ealert(1)%3C/script%3E&track=helpful&flag=~unsafe&version=2",
        f"{base}/label/mine/",
        f"{base}/exports/",
        f"{base}/exports/{w['failed_snapshot'].pk}/download/",
        f"{base}/quality/",
        f"{base}/quality/labelers/",
        f"{base}/quality/leaderboard/",
        f"{base}/quality/adjudication/",
        f"{base}/quality/gold/",
        f"{base}/evaluation/sets/",
        f"{base}/evaluation/sets/new/",
        f"{base}/evaluation/sets/{w['eval_set'].pk}/",
        f"{base}/evaluation/sets/new/?from={w['eval_set'].pk}",
        f"{base}/evaluation/runs/{w['triage_run'].pk}/triage/",
        f"{base}/evaluation/sets/{w['triage_set'].pk}/triage-summary/",
        "/accounts/profile/",
        "/accounts/profile/password/",
        "/api/docs/",
        # Non-HTML twins of htmx fragments redirect to their page (the fragment is fired on the page).
        f"{base}/generation/models/{w['good'].pk}/",
        f"{base}/exports/{w['queued_snapshot'].pk}/",
        f"{base}/label/progress/",
        f"{base}/quality/status/",
        # Error pages, with hostile text in the path.
        "/projects/999999999/",
        "/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E%3Cscript%3Ealert(2)%3C/script%3E/",
    ]
    return paths


# Pages a labeler may not open: two of them are visited (the 403 page), the rest would only repeat it.
_ADMIN_ONLY = re.compile(
    r"/projects/new/|/members/|/guidelines/edit/|/prompts/imports?/|/generation/|/generation-batches/"
    r"|/exports/|/quality/|/label/review/|/evaluation/"
)


def labeler_get_paths(w: dict) -> list[str]:
    base = f"/projects/{w['project'].pk}"
    return [path for path in project_get_paths(w) if not _ADMIN_ONLY.search(path)] + [
        f"{base}/settings/",
        f"{base}/quality/",
    ]


def admin_paths(w: dict) -> list[str]:
    """The admin index, each app's index, and for every registered model its list and the change
    page of its first row; for the main models also the add form (its selects list hostile names),
    a search, and the history and delete pages (a 403 page where the admin forbids them)."""
    paths = ["/admin/", "/admin/password_change/", "/admin/password_change/done/"]
    apps = set()
    for model in admin.site._registry:
        opts = model._meta
        apps.add(opts.app_label)
        prefix = f"/admin/{opts.app_label}/{opts.model_name}/"
        paths.append(prefix)
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"no {opts.label} row: the world should hold one"
        paths.append(f"{prefix}{obj.pk}/change/")
        if opts.label_lower in ADMIN_FULL:
            paths += [prefix + "add/", prefix + "?q=%3Cscript%3Ealert(1)%3C/script%3E"]
            paths += [f"{prefix}{obj.pk}/history/", f"{prefix}{obj.pk}/delete/"]
    paths.append(f"/admin/accounts/user/{w['staff'].pk}/password/")
    paths += [f"/admin/{app}/" for app in sorted(apps)]
    return paths


def labeler_workbench(s: Sweep, w: dict) -> None:
    """The labeler: the guidelines gate (with the diff), then a demonstration and a comparison, each
    task rendered by the workbench modules (static/js/workbench/) from the API."""
    page = s.page
    p = w["project"].pk
    s.visit(f"/projects/{p}/label/")
    expect(page.get_by_role("heading", name="Read the guidelines before you label")).to_be_visible()
    s.step = "workbench: acknowledge"
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("I have read version")).click()
    s.check()
    seen = set()
    for _ in range(12):
        heading = page.locator("#wb-task h2, #wb-task h1").first
        expect(page.locator("#wb-task")).to_be_visible()
        page.wait_for_timeout(200)
        title = heading.inner_text() if heading.count() else ""
        s.step = f"workbench task: {title}"
        s.check()
        if title.startswith("Write the ideal answer") and "demonstration" not in seen:
            seen.add("demonstration")
            page.get_by_role("button", name="Start from this answer").first.click()
            page.get_by_label("Your ideal answer").fill("mine " + LONG["textarea-breakout"])
            page.get_by_role("button", name="Submit").click()
            expect(page.locator("#wb-status")).to_contain_text("submitted")  # the draft is saved first
        elif title.startswith(("Compare", "Rank")):
            seen.add("comparison")
            page.get_by_label("Rationale").fill(ALL[:1900])
            page.keyboard.press("Escape")
            page.keyboard.press("k")
            dialog = page.get_by_role("dialog", name="Skip this task")
            dialog.get_by_label("Why do you skip it?").fill(fit(500, 7))
            page.keyboard.press("Control+Enter")
            expect(dialog).to_be_hidden()
        elif "Nothing left" in page.locator("#wb-task").inner_text() or title == "":
            break
        else:
            page.keyboard.press("k")
            dialog = page.get_by_role("dialog", name="Skip this task")
            dialog.get_by_label("Why do you skip it?").fill(fit(500, 3))
            page.keyboard.press("Control+Enter")
            expect(dialog).to_be_hidden()
        page.wait_for_timeout(300)
        s.step = "workbench: after submit (progress fragment)"
        s.check()
        if seen == {"demonstration", "comparison"}:
            break
    assert seen == {"demonstration", "comparison"}, seen


def reviewer_review(s: Sweep, w: dict) -> None:
    """The reviewer: the review page's guidelines gate (what changed since v2, rendered), acknowledge,
    the queue filtered by hostile values, and a decision through htmx (the card swapped in place)."""
    page = s.page
    base = f"/projects/{w['project'].pk}"
    s.visit(f"{base}/label/review/")
    expect(page.get_by_role("heading", name="Read the guidelines before you review")).to_be_visible()
    expect(page.locator("ins.bd-ins").first).to_be_visible()
    s.step = "review: acknowledge"
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("I have read version")).click()
    s.check()
    s.visit(f"{base}/label/review/?labeler={quote(fit(60))}&track={quote(fit(40, 1))}&kind=x&flag=~any&after=")
    s.visit(f"{base}/label/review/")
    s.step = "review: accept through htmx"
    card = page.locator("[data-review-card]").first
    expect(card).to_be_visible()
    card.get_by_role("button", name="Accept").click()
    expect(page.locator("[data-decided]").first).to_be_visible()
    s.check()


def labeler_my_labels(s: Sweep, w: dict) -> None:
    """My labels with a hostile reviewer's comment, its "Fix and resubmit" form, the reopened task in
    the workbench (the comment shown by the workbench modules), and the work chooser's form."""
    page = s.page
    base = f"/projects/{w['project'].pk}"
    mine = Label.objects.filter(project=w["project"], user=w["labeler"]).order_by("id").first()
    labeling_services.label_review(label_id=mine.pk, reviewer=w["staff"], accept=False, comment=ALL[:2000])
    s.visit(f"{base}/label/mine/")
    s.step = "my labels: fix and resubmit"
    with page.expect_navigation():
        page.get_by_role("button", name="Fix and resubmit").first.click()
    expect(page.locator(".wb-review-note")).to_be_visible()
    s.check()
    s.submit(f"{base}/label/mine/{mine.pk}/reopen/", {})  # reopened already: the same task again
    s.submit(f"{base}/label/preference/", {"kind": fit(16, 2), "track": fit(60, 4)})
    s.submit(f"{base}/label/preference/", {"kind": "comparison", "track": "red-team"})


def admin_actions(s: Sweep, w: dict) -> None:
    """Forms whose answers show stored or submitted text back: re-rendered forms and flash messages,
    and the htmx buttons (preview, connection test, recompute)."""
    page = s.page
    p = w["project"].pk
    base = f"/projects/{p}"

    # htmx posts, clicked on their pages.
    s.visit(f"{base}/guidelines/edit/")
    s.step = "guideline preview (htmx)"
    page.locator("textarea[name=content]").fill("# Preview\n\n" + ALL)
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator("#guideline-preview .markdown-body")).to_be_visible()
    s.check()
    s.step = "schema preview (htmx): the hostile draft schema"
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_role("button", name="Preview schema").click()
    expect(page.locator("#schema-preview .schema-summary")).to_be_visible()
    s.check()
    s.step = "schema preview (htmx): hostile keys in the errors"
    page.locator("textarea[name=schema]").fill(json.dumps({fit(40): 1, "tracks": [{"name": fit(40, 1)}]}))
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_role("button", name="Preview schema").click()
    expect(page.locator("#schema-preview .form-errors")).to_be_visible()
    s.check()

    s.visit(f"{base}/generation/models/")
    s.step = "connection test (htmx)"
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.locator(f"#config-{w['good'].pk} form[hx-post] button").click()
    page.wait_for_timeout(200)
    s.fire_htmx()  # the row polls while the check runs
    s.check()

    s.visit(f"{base}/quality/")
    s.step = "recompute (htmx)"
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.locator("form.qc-recompute button").first.click()
    page.wait_for_timeout(200)
    s.fire_htmx()  # the status box polls
    s.check()

    # Plain forms: each lands on a page showing the text back.
    s.submit(
        "/projects/new/",
        {
            "name": fit(200, 11),
            "description": ALL,
            "preset": "helpsteer",
            "demonstration_overlap": "1",
            "comparison_overlap": "1",
            "candidates_per_prompt": "2",
        },
    )
    s.submit("/projects/new/", {"name": "", "description": ALL, "preset": fit(40, 3)})
    s.submit(f"{base}/settings/", {"name": fit(200, 12), "description": ALL, "lease_minutes": fit(20)})
    s.submit(f"{base}/members/", {"username": fit(150, 1), "role": "labeler"})
    temp_membership = w["temp"].memberships.get(project=w["project"])
    s.submit(f"{base}/members/{temp_membership.pk}/role/", {"role": "reviewer"})
    s.submit(f"{base}/members/{temp_membership.pk}/role/", {"role": fit(50)})
    s.submit(f"{base}/members/{temp_membership.pk}/remove/", {})
    # New accounts: refused (hostile name and address re-rendered), then created (the link shown once).
    s.submit(f"{base}/members/", {"action": "create", "username": fit(150, 2), "email": ALL[:254], "role": fit(20)})
    s.submit(f"{base}/members/", {"action": "create", "username": "xss-new", "email": "", "role": "labeler"})
    invited_membership = w["invited"].memberships.get(project=w["project"])
    s.submit(f"{base}/members/{invited_membership.pk}/link/", {})
    s.submit(f"{base}/guidelines/edit/", {"action": "save", "content": "# Draft\n\n" + ALL, "change_note": ""})
    s.submit(f"{base}/guidelines/edit/", {"action": fit(40), "content": ALL, "change_note": fit(500)})
    schema_form = {"content": "# Draft", "change_note": ""}
    s.submit(f"{base}/guidelines/edit/", {**schema_form, "action": "reset", "preset": fit(40, 5), "schema": ALL})
    s.submit(f"{base}/guidelines/edit/", {**schema_form, "action": "save", "schema": ALL})  # not JSON
    hostile_keys = {**hostile_schema(), fit(40, 2): 1, "questions": [{"name": fit(40, 6), "type": fit(20)}]}
    s.submit(f"{base}/guidelines/edit/", {**schema_form, "action": "save", "schema": json.dumps(hostile_keys)})
    s.submit(
        f"{base}/guidelines/edit/", {**schema_form, "action": "schema-preview", "schema": json.dumps(hostile_schema(2))}
    )

    # Prompt import through the real upload form: a hostile file name, bad lines echoed in errors.
    s.visit(f"{base}/prompts/import/")
    s.step = "prompt import upload"
    bad_lines = (
        _jsonl(
            [
                {"prompt": "x", fit(60): 1, "track": fit(60, 2)},
                {"messages": [{"role": fit(60, 3), "content": "x"}]},
                {"prompt": "ok", "candidates": [{"content": "c", "model": "m", fit(40, 4): 1}]},
            ]
        )
        + b'{"prompt": "<img src=x onerror=alert(1)>", \n'
    )
    page.locator("input[type=file]").set_input_files(
        {"name": '"><img src=x onerror=alert(1)>.jsonl', "mimeType": "application/jsonl", "buffer": bad_lines}
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Import", exact=True).click()
    s.fire_htmx()
    s.check()

    # Model configs: a refused form (the URL is echoed in the error), deactivate, delete.
    s.submit(
        f"{base}/generation/models/new/",
        {
            "name": fit(100, 5),
            "base_url": "http://xss.invalid/" + fit(200, 1),
            "model": fit(200, 3),
            "temperature": "0.7",
            "top_p": "1",
            "max_tokens": "16",
            "candidates_per_prompt": "2",
            "stop": "\n".join(shorts(60, 4)),
            "system_prompt": ALL,
        },
    )
    s.submit(f"{base}/generation/models/{w['bad'].pk}/active/", {"active": "0"})
    s.submit(f"{base}/generation/models/{w['good'].pk}/delete/", {})
    s.submit(f"{base}/generation/models/{w['bad'].pk}/active/", {"active": "1"})
    failed_job = GenerationJob.objects.filter(batch=w["bad_batch"], status=JobStatus.FAILED).first()
    s.submit(f"{base}/generation/jobs/{failed_job.pk}/retry/", {})
    s.submit(f"{base}/generation/batches/{w['bad_batch'].pk}/retry-failed/", {})
    s.submit(f"{base}/generation/batches/new/", {"model_config": str(w["bad"].pk), "fewer_than": fit(20)})
    s.submit(f"{base}/generation/batches/new/", {"model_config": str(w["bad"].pk), "prompt": str(w["full"].pk)})
    # Batch targets: a hostile search previewed, hostile tag/track refused, the prompt list's selection.
    s.submit(
        f"{base}/generation/batches/new/",
        {"model_config": str(w["bad"].pk), "target": "search", "search": fit(200, 3), "action": "preview"},
    )
    s.submit(
        f"{base}/generation/batches/new/",
        {"model_config": str(w["bad"].pk), "target": fit(20, 1), "tag": fit(60, 2), "track": fit(40, 3)},
    )
    s.visit(f"{base}/generation/batches/new/?prompt_ids={w['full'].pk}&tag=" + quote(fit(60, 4), safe=""))

    # Labeling and review.
    label = Label.objects.filter(project=w["project"], review_status="pending").order_by("id").first()
    s.submit(f"{base}/label/review/{label.pk}/", {"decision": "reject", "comment": ALL[:2000]})
    s.submit(f"{base}/label/sync/", {})

    # Quality: quarantine and release with hostile reasons (and a refused one, re-rendered).
    third = w["third"].pk
    s.submit(f"{base}/quality/labelers/{third}/quarantine/", {"reason": fit(1000, 9)})
    s.submit(f"{base}/quality/labelers/{third}/quarantine/", {"reason": fit(1000, 10)})  # refused: already
    s.submit(f"{base}/quality/labelers/{third}/release/", {"reason": fit(1000, 11)})
    item = w["disputed_item"]
    keep = Label.objects.filter(work_item=item).order_by("id").first()
    s.submit(f"{base}/quality/adjudication/{item.pk}/", {"keep_label": "", "comment": ALL[:1000]})  # refused
    s.submit(f"{base}/quality/adjudication/{item.pk}/", {"keep_label": str(keep.pk), "comment": ALL[:1000]})
    red = w["red_item"]
    ids = [str(c) for c in red.candidate_ids]
    s.submit(f"{base}/quality/gold/{red.pk}/unset/", {"reason": fit(1000, 1), "from": "list"})
    s.submit(f"{base}/quality/gold/{red.pk}/", {f"rank_{ids[0]}": "1", f"rank_{ids[1]}": "2", "note": ALL[:1900]})
    s.submit(f"{base}/quality/gold/{red.pk}/", {"note": ALL[:1900], f"flags_{ids[0]}": fit(60)})  # refused
    s.visit(f"{base}/quality/labelers/")
    s.visit(f"{base}/quality/gold/")

    # Evaluation sets: a refused form (hostile values re-rendered), a set made (its hostile name in the
    # flash), a refused delete (the set has a run) and a delete.
    new_set = f"{base}/evaluation/sets/new/"
    s.submit(new_set, {"name": fit(100, 3), "description": ALL[:4000], "tags": fit(100, 4), "prompt_ids": fit(50, 5)})
    reference = json.dumps({"prompt_id": w["prompts"][2].pk, "reference": ALL[:3000]})
    s.submit(new_set, {"name": fit(100, 6), "prompt_ids": str(w["prompts"][2].pk), "references_text": reference})
    s.submit(f"{base}/evaluation/sets/{w['eval_set'].pk}/delete/", {})  # refused: it has a run
    made = EvaluationSet.objects.filter(project=w["project"]).order_by("-id").first()
    s.submit(f"{base}/evaluation/sets/{made.pk}/delete/", {})
    # Evaluation runs: a refused start (re-rendered with its errors), cancel and resume (flash messages).
    runs_new = f"{base}/evaluation/sets/{w['run_set'].pk}/runs/new/"
    s.submit(runs_new, {"model_config": str(w["good"].pk), "baseline_kind": "config", "labels_per_pair": fit(20)})
    s.submit(
        runs_new, {"model_config": str(w["good"].pk), "baseline_kind": "config", "baseline_config": str(w["good"].pk)}
    )
    s.submit(f"{base}/evaluation/runs/{w['run_live'].pk}/cancel/", {})
    s.submit(f"{base}/evaluation/runs/{w['run_live'].pk}/resume/", {})
    s.submit(f"{base}/evaluation/runs/{w['run_done'].pk}/cancel/", {})  # refused: finished

    # Exports and tokens.
    s.submit(f"{base}/exports/new/", {"kind": "preferences", "labelers": fit(150, 2)})
    s.submit(f"{base}/exports/new/", {"kind": fit(30), "since": fit(40)})  # refused, re-rendered
    s.submit("/accounts/profile/", {"name": fit(100, 8)})
    # Refused (wrong old password): the form comes back with its errors, the hostile values not shown.
    s.submit("/accounts/profile/password/", {"old_password": fit(100, 3), "new_password1": ALL[:100]})
    token = w["staff"].api_tokens.order_by("-id").first()
    s.submit(f"/accounts/profile/tokens/{token.pk}/revoke/", {})

    # Last: publish a version with a hostile change note (the labeler steps ran before).
    s.submit(f"{base}/guidelines/edit/", {"action": "publish", "content": "# v4\n\n" + ALL, "change_note": fit(500, 4)})
    s.visit(f"{base}/guidelines/")
    s.visit(f"{base}/guidelines/diff/?from=1&to=4&mode=side")
    s.visit(f"{base}/label/")  # the admin's own workbench


def reviewer_triage(s: Sweep, w: dict) -> None:
    """The reviewer on a run's triage: hostile filters, a Fix through htmx (the item swapped in place),
    a won't-fix with a hostile note and a refused duplicate without htmx, the set's summary."""
    page = s.page
    base = f"/projects/{w['project'].pk}/evaluation"
    run, first, second = w["triage_run"], *w["triage_items"][:2]
    s.visit(f"{base}/runs/{run.pk}/triage/?track={quote(fit(40, 1))}&flag={quote(fit(60, 2))}&status=x")
    s.visit(f"{base}/runs/{run.pk}/triage/")
    s.step = "triage: fix through htmx"
    item = page.locator(f"#triage-{first.pk}")
    item.get_by_role("button", name="Fix", exact=True).click()
    expect(page.locator(f"#triage-{first.pk} [data-status='fix']")).to_be_visible()
    s.check()
    decide = f"{base}/runs/{run.pk}/triage/{second.pk}/decide"
    s.submit(decide, {"status": "wont_fix", "note": ALL[:2000]})
    s.submit(decide, {"status": "duplicate", "duplicate_of": fit(30, 4), "note": fit(200, 2)})
    s.visit(f"{base}/sets/{w['triage_set'].pk}/triage-summary/")


def test_xss_sweep(browser, live_server, hostile_inference, no_broker, report_only_csp, settings):
    w = build_world(hostile_inference)
    p = w["project"].pk
    covered: set[str] = set()
    failures: list[str] = []
    pages = 0

    # Anonymous: the login pages and an error page.
    # Its user agent and Accept header are hostile: django-axes stores them with the failed login,
    # and the Django admin shows them.
    anon = Sweep(
        browser,
        live_server,
        "anonymous",
        user_agent=fit(250, 1),
        extra_http_headers={"Accept": "text/html," + fit(200, 2)},
    )
    for path in ("/accounts/login/", "/admin/login/", "/accounts/login/?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E"):
        anon.visit(path)
    anon.step = "failed login"
    anon.page.get_by_label("Username").fill(fit(150))
    anon.page.get_by_label("Password").fill("x")
    with anon.page.expect_navigation():
        anon.page.get_by_role("button", name="Log in").click()
    anon.check()
    # A set-password link: the page (the hostile username), a refused password, a forged link.
    anon.visit(f"/accounts/set-password/{w['invite_token']}/")
    anon.submit("/accounts/set-password/", {"password1": ALL[:200], "password2": fit(100, 4)})
    anon.visit("/accounts/set-password/" + quote(fit(100, 5), safe="") + "/")
    anon.close()

    # The labeler: gate, acknowledge on the guidelines page, a newer version, the workbench gate,
    # tasks; then every project page (403 where the role may not go).
    labeler = Sweep(browser, live_server, "labeler")
    labeler.login(w["labeler"])
    labeler.visit(f"/projects/{p}/guidelines/")
    labeler.step = "acknowledge on the guidelines page"
    with labeler.page.expect_navigation():
        labeler.page.get_by_role("button", name=re.compile("I have read|Acknowledge")).first.click()
    labeler.check()
    project_services.guideline_version_publish(
        project=w["project"], user=w["staff"], change_note=fit(500, 3), content="# Guidelines v3\n\n" + ALL + "\n\nmore"
    )
    labeler_workbench(labeler, w)
    labeler_my_labels(labeler, w)
    for path in labeler_get_paths(w):
        labeler.visit(path)

    reviewer = Sweep(browser, live_server, "reviewer")
    reviewer.login(w["third"])
    reviewer_review(reviewer, w)
    reviewer_triage(reviewer, w)

    # The admin (site staff, superuser): every page, the htmx buttons, the forms, the Django admin.
    staff = Sweep(browser, live_server, "admin")
    staff.login(w["staff"])
    for path in project_get_paths(w):
        staff.visit(path)
    admin_actions(staff, w)
    for path in admin_paths(w):
        staff.visit(path, fire_htmx=False)

    for sweep in (anon, labeler, reviewer, staff):
        covered |= sweep.covered
        failures += sweep.failures
        pages += sweep.pages
    labeler.close()
    reviewer.close()
    staff.close()

    missing = sorted(html_route_names() - covered)
    print(f"\nXSS sweep: {pages} page loads/form posts, {len(PAYLOADS)} payloads, {len(covered)} routes covered")
    assert not failures, "\n".join(failures[:200]) + (f"\n… {len(failures) - 200} more" if len(failures) > 200 else "")
    assert not missing, f"HTML routes the sweep never loaded (sweep them or add them to SKIPPED): {missing}"


def test_the_sweep_sees_an_xss(browser, live_server, staff, project, report_only_csp, monkeypatch):
    """The canary: with the Markdown sanitizer switched off, the same checks catch the payloads (a
    dialog, window.__xss, a request to xss.invalid, hostile markup in the DOM and in the HTML)."""
    from labelhub.core.templatetags import labelhub as labelhub_tags

    monkeypatch.setattr(labelhub_tags, "render_markdown", lambda text: text)
    project_services.guideline_version_publish(project=project, user=staff, change_note="x", content=ALL)
    sweep = Sweep(browser, live_server, "canary")
    sweep.login(staff)
    sweep.visit(f"/projects/{project.pk}/guidelines/")
    sweep.close()
    found = "\n".join(sweep.failures)
    for kind in ("dialog", "window.__xss", "outbound request", "DOM at", "HTML of GET", "verbatim", "event handler"):
        assert kind in found, f"{kind!r} not detected:\n{found[:3000]}"
