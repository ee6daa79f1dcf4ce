"""Simulated labelers for bench_labeling.py: claim the next task and submit it, as fast as a
(very fast) human, through the JSON API with token auth. Tokens come from LOCUST_TOKENS_FILE."""

import itertools
import os
import random

from locust import HttpUser, between, events, task

_tokens = itertools.cycle(open(os.environ["LOCUST_TOKENS_FILE"]).read().split())  # noqa: SIM115
PROJECT = os.environ["LOCUST_PROJECT_ID"]


# Every request's wall-clock time and latency, for percentiles over a time window (bench_labeling.py
# compares claims during a snapshot export with claims outside it).
_LOG_PATH = os.environ.get("LOCUST_REQUEST_LOG")
_request_log = open(_LOG_PATH, "a", buffering=1) if _LOG_PATH else None  # noqa: SIM115


@events.request.add_listener
def _log_request(request_type, name, response_time, exception=None, start_time=None, **_kwargs):
    if _request_log is not None:
        _request_log.write(f"{start_time:.3f},{name},{response_time:.1f},{0 if exception is None else 1}\n")


class Labeler(HttpUser):
    # Far faster than a person (a real comparison takes 30 s or more), still a steady 50-person load.
    wait_time = between(1.0, 3.0)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {next(_tokens)}"

    @task
    def label_one(self):
        kind = random.choice(["demonstration", "comparison"])  # half of each kind of work
        with self.client.post(
            f"/api/v1/projects/{PROJECT}/work/next", json={"kind": kind}, name="work/next", catch_response=True
        ) as r:
            if r.status_code == 204:
                r.success()
                return
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:200]}")
                return
            task_data = r.json()
        item = task_data["id"]
        if task_data["kind"] == "demonstration":
            body = {"content": f"An ideal answer #{random.randint(1, 10**9)}"}
            url, name = f"/api/v1/work-items/{item}/demonstration", "demonstration"
        else:
            ids = [str(c["id"]) for c in task_data["candidates"]]
            random.shuffle(ids)
            schema = task_data["schema"]
            scales = [q for q in schema["questions"] if q["type"] == "scale" and q["name"] in task_data["questions"]]
            body = {
                "ranks": {cid: i + 1 for i, cid in enumerate(ids)},
                "answers": {cid: {q["name"]: random.randint(q["min"], q["max"]) for q in scales} for cid in ids},
            }
            if len(ids) == 2 and schema["strength"]["levels"]:
                body["strength"] = random.choice(schema["strength"]["levels"])["name"]
            if task_data["needs_safety"]:
                body["safety"] = {cid: random.choice(["safe", "unsafe"]) for cid in ids}
            url, name = f"/api/v1/work-items/{item}/ranking", "ranking"
        with self.client.post(url, json=body, name=name, catch_response=True) as r:
            if r.status_code not in (200, 201):
                r.failure(f"{r.status_code} {r.text[:200]}")
