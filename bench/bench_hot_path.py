"""The labeling hot path in-process: `make bench-hot-path` (PostgreSQL from scripts/with-services.sh).

Seeds a project as bench_labeling.py does, then drives claim + submit rounds through Django's full
request handling (the test client: middleware, DRF, token auth, JSON), with no HTTP server and no
locust, so the figures are the server's own cost per request. Reports the median and p95 per request
kind and the SQL statements each runs, and, as a ratio that a noisy machine does not blur, each median
over the median of the cheapest authenticated request (`GET /api/v1/me`) timed in the same rounds.
Last line: `RESULT claim_ms=<median> submit_ms=<median> claim_vs_me=<ratio> submit_vs_me=<ratio>`.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")
os.environ.update(DEBUG="false", SECRET_KEY="bench-only-" + "x" * 40, ALLOWED_HOSTS="testserver")
os.environ.update(SECURE_SSL_REDIRECT="false", LOG_LEVEL="WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.bench_labeling import seed  # noqa: E402
from labelhub.projects.rubric import HHH  # noqa: E402

AXES = tuple(q.name for q in HHH.scales())  # the demo project's schema

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def one_round(client: Client, project_id: int, times: dict, counts: dict | None = None) -> None:
    kind = random.choice(["demonstration", "comparison"])
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as claim_q:
        response = client.post(f"/api/v1/projects/{project_id}/work/next", {"kind": kind}, "application/json")
    times["claim"].append(time.perf_counter() - started)
    if response.status_code != 200:
        raise SystemExit(f"claim: {response.status_code} {response.content[:200]}")
    task = response.json()
    if task["kind"] == "demonstration":
        url, body = f"/api/v1/work-items/{task['id']}/demonstration", {"content": f"An ideal answer {random.random()}"}
    else:
        ids = [str(c["id"]) for c in task["candidates"]]
        body = {"ranks": {c: i + 1 for i, c in enumerate(ids)}, "ratings": {c: dict.fromkeys(AXES, 4) for c in ids}}
        if len(ids) == 2:
            body["strength"] = "better"
        if task["needs_safety"]:
            body["safety"] = dict.fromkeys(ids, "safe")
        url = f"/api/v1/work-items/{task['id']}/ranking"
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as submit_q:
        response = client.post(url, body, "application/json")
    times[f"submit {task['kind']}"].append(time.perf_counter() - started)
    if response.status_code != 201:
        raise SystemExit(f"submit: {response.status_code} {response.content[:200]}")
    if counts is not None:
        for name, captured in (("claim", claim_q), (f"submit {task['kind']}", submit_q)):
            n = sum(not q["sql"].lstrip().upper().startswith(CONTROL) for q in captured.captured_queries)
            counts.setdefault(name, set()).add(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=600, help="claim + submit rounds")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL (make bench-hot-path starts one)")
    call_command("migrate", verbosity=0)
    project_id, tokens = seed(args.prompts, 50)
    clients = [Client(HTTP_AUTHORIZATION=f"Token {t}") for t in tokens]
    names = ("claim", "submit demonstration", "submit comparison")
    times = {name: [] for name in (*names, "me")}
    counts: dict = {}
    for i in range(100):  # warm-up: imports, caches
        one_round(clients[i % 50], project_id, {name: [] for name in times}, counts)
    for i in range(args.rounds):
        client = clients[i % 50]
        one_round(client, project_id, times, counts)
        started = time.perf_counter()
        client.get("/api/v1/me")
        times["me"].append(time.perf_counter() - started)
    me = statistics.median(times["me"])
    print(f"{args.rounds} claim + submit rounds, {args.prompts} prompts; median (p95), x GET /api/v1/me:")
    for name in (*names, "me"):
        values = sorted(times[name])
        median, p95 = statistics.median(values) * 1000, values[int(0.95 * len(values))] * 1000
        statements = sorted(counts.get(name, [])) or ""
        print(f"  {name:22} {median:6.1f} ms ({p95:5.1f})  x{median / 1000 / me:4.1f}   statements {statements}")
    claim = statistics.median(times["claim"])
    submit = statistics.median(times["submit demonstration"] + times["submit comparison"])
    print(
        f"RESULT claim_ms={claim * 1000:.1f} submit_ms={submit * 1000:.1f} "
        f"claim_vs_me={claim / me:.2f} submit_vs_me={submit / me:.2f}"
    )


if __name__ == "__main__":
    main()
