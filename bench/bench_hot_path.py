"""The labeling hot path in-process: `make bench-hot-path` (PostgreSQL from scripts/with-services.sh).

Seeds a project as bench_labeling.py does, then drives claim + submit rounds through Django's full
request handling (the test client: middleware, DRF, token auth, JSON), with no HTTP server and no
locust, so the figures are the server's own cost per request. Reports the median and p95 per request
kind, the SQL statements each runs, and the same rounds on connections without prepared statements
(alternating blocks in one run, as a ratio).
Last line: `RESULT claim_ms=<median> submit_ms=<median> prepared_ratio=<unprepared / prepared>`.
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

AXES = ("helpful", "truthful", "harmless")
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


def use_prepared(enabled: bool) -> None:
    """Reconnect with or without server-side binding and prepared statements."""
    connection.close()
    options = connection.settings_dict.setdefault("OPTIONS", {})
    options["server_side_binding"] = enabled
    options["prepare_threshold"] = 5 if enabled else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=600, help="claim + submit rounds per setting")
    parser.add_argument("--block", type=int, default=50, help="rounds per alternating block")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL (make bench-hot-path starts one)")
    call_command("migrate", verbosity=0)
    project_id, tokens = seed(args.prompts, 50)
    clients = [Client(HTTP_AUTHORIZATION=f"Token {t}") for t in tokens]
    names = ("claim", "submit demonstration", "submit comparison")
    times = {setting: {name: [] for name in names} for setting in (True, False)}
    counts: dict = {}
    warm = {name: [] for name in names}
    for i in range(100):  # warm-up: imports, caches, the first prepared statements
        one_round(clients[i % 50], project_id, warm, counts)
    done = 0
    while done < args.rounds:
        for setting in (True, False):
            use_prepared(setting)
            for i in range(args.block):
                one_round(clients[(done + i) % 50], project_id, times[setting])
        done += args.block
    use_prepared(True)
    print(f"{args.rounds} claim + submit rounds per setting, {args.prompts} prompts, medians (p95):")
    for name in names:
        on, off = times[True][name], times[False][name]
        p95 = sorted(on)[int(0.95 * len(on))] * 1000
        print(
            f"  {name:22} {statistics.median(on) * 1000:6.1f} ms ({p95:5.1f})   without prepared statements "
            f"{statistics.median(off) * 1000:6.1f} ms   statements {sorted(counts.get(name, []))}"
        )
    claim = statistics.median(times[True]["claim"]) * 1000
    submits = times[True]["submit demonstration"] + times[True]["submit comparison"]
    every = {setting: [t for name in names for t in times[setting][name]] for setting in (True, False)}
    ratio = statistics.median(every[False]) / statistics.median(every[True])
    print(f"RESULT claim_ms={claim:.1f} submit_ms={statistics.median(submits) * 1000:.1f} prepared_ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
