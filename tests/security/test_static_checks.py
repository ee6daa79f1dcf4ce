"""Checks that used to be run by hand, now part of the suite (docs/SECURITY.md):

- bandit over labelhub/: no HIGH severity finding (the medium and low ones are reviewed in
  docs/SECURITY.md);
- schemathesis against /api/schema/: every operation, with the examples, coverage (boundary values,
  wrong types, missing fields) and fuzzing phases, sent in-process to the WSGI app with an admin's
  API token on a populated project: no response is a 5xx.

The schemathesis run is bounded (SCHEMATHESIS_MAX_EXAMPLES per operation and phase, derandomized so
a run is repeatable); raise the bound locally to fuzz harder:
`SCHEMATHESIS_MAX_EXAMPLES=200 .venv/bin/pytest tests/security/test_static_checks.py`."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.pytest.lazy import get_all_tests

from labelhub.accounts.services import api_token_create
from labelhub.projects.models import Role

from .access_fixtures import _no_broker, token_client, two_projects  # noqa: F401
from .access_world import build_project
from .test_idor import rolled_back

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5"))


def test_bandit_finds_no_high_severity_issue():
    bandit = Path(sys.executable).with_name("bandit")
    result = subprocess.run(
        [str(bandit), "-r", "labelhub", "-f", "json", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    report = json.loads(result.stdout)
    assert not report["errors"], report["errors"]
    assert report["metrics"]["_totals"]["loc"] > 5000  # it did read the code
    high = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] == "HIGH"
    ]
    assert not high, "bandit HIGH severity findings:\n" + "\n".join(high)


@pytest.fixture
def api_schema(db, staff, settings):
    """The live schema of the API, loaded from the WSGI app, with an admin's token and the id of a
    populated project (tests/security/access_world.py) for every `project_id`; other ids are
    generated."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]  # schemathesis' WSGI client's host
    settings.SECURE_SSL_REDIRECT = False
    # As Django's test client does: requests must not close the test's connection (its transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        world = build_project(staff, "S")
        _token, key = api_token_create(user=world.users[Role.ADMIN], name="schemathesis")
        schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
        schema.config.update(headers={"Authorization": f"Token {key}"}, parameters={"project_id": world.project.pk})
        schema.config.generation.update(max_examples=MAX_EXAMPLES)
        yield schema
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_api_answers_every_generated_request_without_a_server_error(api_schema):
    """Schemathesis' own pytest integration (`schemathesis.pytest.from_fixture`) does not run under
    pytest 9 (it sets a node attribute pytest no longer has), so this drives the same per-operation
    Hypothesis tests it builds (`get_all_tests`) from one test, and lists every failing operation."""
    failures, operations, sent = [], 0, Counter()

    def no_server_error(case):
        sent[str(case.meta.phase.name) if case.meta else "?"] += 1
        # Each case starts from the populated project, and a database error in one request cannot
        # leave the test's transaction aborted for the next ones (in production each request has its own).
        with rolled_back():
            case.call_and_validate(checks=[not_a_server_error])

    explicit = settings(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    for result in get_all_tests(schema=api_schema, test_func=no_server_error, settings=explicit, given_kwargs={}):
        if isinstance(result, Err):
            failures.append(f"schema error: {result.err()}")
            continue
        operation, run = result.ok()
        operations += 1
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - every failing operation is reported, not just the first
            failures.append(f"{operation.label}:\n{str(exc)[:2000]}")
    print(f"schemathesis: {operations} operations, requests by phase: {dict(sent)}")
    assert operations >= 60, operations
    assert not failures, f"{len(failures)} of {operations} operations:\n\n" + "\n\n".join(failures)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("until=2555-07-06T14:34:39.329011%2B16:39", 200),  # an offset PostgreSQL cannot hold: now in UTC
        ("since=2026-01-01T00:00:00-15:59&until=2026-01-03T00:00:00%2B23:59", 200),
        ("since=9999-12-31T23:59:59-10:00", 400),  # no UTC equivalent
        ("until=0001-01-01T00:00:00%2B05:00", 400),
    ],
)
def test_schemathesis_findings_stay_fixed(two_projects, token_client, query, status):
    """Found by the run above: export time bounds with a UTC offset beyond ±15:59 reached PostgreSQL,
    which refused them mid-export (a 500)."""
    a, _b = two_projects
    client = token_client(a.users[Role.ENGINEER])
    for kind in ("sft", "rankings"):
        response = client.get(f"/api/v1/projects/{a.project.pk}/exports/{kind}.jsonl?{query}")
        assert response.status_code == status, (kind, query, response.content[:300])
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if status == 200:
            assert b"#labelhub-export-error" not in body, body[-300:]
