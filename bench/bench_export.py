"""Streaming export vs raw COPY: `make bench-export` (PostgreSQL + Redis from scripts/with-services.sh).

Seeds one project with COPY (not the ORM): --labels comparison items, each a prompt (a third of them
multi-turn with a system message) with 4 candidates of a few hundred characters (provenance as
generation stores it) and one label ranking all 4 (ranks 1-4, no ties), so pairs=all gives 6 pairs
per label (166,667 labels -> 1,000,002 pairs). Serves the app with gunicorn as production does
(gthread, 4 threads, MALLOC_ARENA_MAX=2, DEBUG off; one worker, so its RSS is the export's) on
loopback and, alternating, measures:

- http: GET /api/v1/projects/{id}/exports/preferences.jsonl?format=trl-preference with a token,
  read as a stream (httpx): time to the first body byte, total time, rows (b"\\n"), bytes, the
  worker's CPU time, and its peak RSS (VmRSS sampled every 10 ms from /proc, and VmHWM);
- copy: the same pairs as JSON lines built by PostgreSQL (pairs from jsonb_each_text on ranks joined
  to itself with r1 < r2, each conversation and answer encoded once per label and spliced, as
  formats.py does), read with psycopg's `cursor.copy()` from `COPY (SELECT ...) TO STDOUT`: the
  ceiling for any export of these rows.

A warm-up COPY first (tables in the page cache), then --rounds of [copy, http]; the best of each is
compared: export_ratio_vs_copy = copy seconds / http seconds (1.0: as fast as COPY). Row counts must
match. Last line: `RESULT export_ratio_vs_copy=<r> rss_mb=<n> ttfb_ms=<n> rows=<n>` (RSS: the largest
seen; first byte: the median).
"""

import argparse
import logging
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import orjson  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import NOT_PROVIDED, JSONField  # noqa: E402

from labelhub.accounts.models import User  # noqa: E402
from labelhub.accounts.services import api_token_create  # noqa: E402
from labelhub.labeling.models import Assignment, Label, WorkItem  # noqa: E402
from labelhub.projects import services as project_services  # noqa: E402
from labelhub.projects.models import Membership, Role  # noqa: E402
from labelhub.projects.selectors import project_schema  # noqa: E402
from labelhub.prompts.models import Candidate, Prompt  # noqa: E402
from labelhub.prompts.parsing import content_hash  # noqa: E402

K = 4
PAIRS_PER_LABEL = K * (K - 1) // 2
N_LABELERS = 8
QUERY = "format=trl-preference"

VOCABULARY = (
    "the model should answer clearly and cite its sources when it can; a good reply explains why, gives an "
    "example, avoids jargon, admits uncertainty and never invents facts. temperature pressure budget recipe "
    "garden python function error server latency privacy contract history climate vaccine mortgage résumé "
    "café naïve — “quoted” 'single' back\\slash tab\there emoji 🙂 日本語 Ελληνικά"
)
WORDS = VOCABULARY.split(" ")
OPENERS = (
    "Sure! ",
    "Here is a short answer. ",
    "Great question. ",
    "",
    "In short: ",
    "I can't be certain, but ",
    "Step by step:\n1. ",
    "```python\nprint('hi')\n```\n",
)


def sentence_pool(rng: random.Random, n: int = 4000) -> list[str]:
    out = []
    for _ in range(n):
        words = rng.choices(WORDS, k=rng.randint(6, 18))
        text = " ".join(words)
        out.append(text[0].upper() + text[1:] + rng.choice((".", ".", ".", "?", "!", ":\n- item")))
    return out


def paragraph(rng: random.Random, pool: list[str], sentences: tuple[int, int]) -> str:
    return " ".join(rng.choices(pool, k=rng.randint(*sentences)))


def _ids(table: str, n: int) -> int:
    """Reserve n ids after the table's largest; return the first."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 (constant names)
        first = cursor.fetchone()[0] + 1
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [first + n - 1])
    return first


def copy_rows(cur, model, columns: list[str], rows: list[tuple]) -> None:
    """COPY rows into the model's table; NOT NULL columns left out get the model field's default (the
    schema grows: a new column with a default must not break the bench)."""
    extra_columns, extra_values = [], []
    for f in model._meta.concrete_fields:
        if f.column in columns or f.null or f.db_default is not NOT_PROVIDED:
            continue
        value = f.get_default()
        extra_columns.append(f.column)
        extra_values.append(orjson.dumps(value).decode() if isinstance(f, JSONField) else value)
    extra = tuple(extra_values)
    with cur.copy(f"COPY {model._meta.db_table} ({', '.join(columns + extra_columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row + extra)


def seed(n_labels: int, seed_value: int = 11) -> tuple[int, str, int]:
    """One project, two guideline versions, N_LABELERS labelers, n_labels prompts/items/labels.
    Returns (project id, API key of an engineer, expected pairs)."""
    rng = random.Random(seed_value)
    pool = sentence_pool(rng)
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True})
    project = project_services.project_create(
        user=admin, name=f"bench-export-{int(time.time())}", candidates_per_prompt=K, comparison_overlap=1
    )
    v1 = project_services.guideline_version_publish(project=project, user=admin, change_note="v1", content="# G1")
    v2 = project_services.guideline_version_publish(project=project, user=admin, change_note="v2", content="# G2")
    labelers = []
    for i in range(N_LABELERS):
        user, _ = User.objects.get_or_create(username=f"bench-export-labeler-{project.pk}-{i}")
        Membership.objects.create(project=project, user=user, role=Role.LABELER)
        labelers.append(user.pk)
    engineer, _ = User.objects.get_or_create(username=f"bench-export-engineer-{project.pk}")
    project_services.membership_add(project=project, username=engineer.username, role=Role.ENGINEER)
    key = api_token_create(user=engineer, name="bench-export")[1]

    n_candidates = n_labels * K
    p0, c0 = _ids("prompts_prompt", n_labels), _ids("prompts_candidate", n_candidates)
    w0, a0, l0 = (
        _ids("labeling_workitem", n_labels),
        _ids("labeling_assignment", n_labels),
        _ids("labeling_label", n_labels),
    )
    now = datetime.now(UTC)
    start = now - timedelta(days=30)
    # Answers and tracks from the project's labeling schema (HHH: 6 of 7 on each scale; helpful, harmless).
    schema = project_schema(project=project)
    rating = {q.name: q.max - 1 for q in schema.scales()}
    tracks = schema.track_names
    pairs = 0
    chars = 0
    connection.ensure_connection()
    raw = connection.connection
    t0 = time.perf_counter()
    with raw.cursor() as cur:
        # Bench data only, built consistent: skip the (deferred, row-by-row) foreign-key triggers.
        cur.execute("SET session_replication_role = replica")
        prompts_rows, cand_rows, item_rows, assign_rows, label_rows = [], [], [], [], []
        for i in range(n_labels):
            at = start + timedelta(seconds=i * 10)
            pid, wid, aid, lid = p0 + i, w0 + i, a0 + i, l0 + i
            question = paragraph(rng, pool, (1, 4)) + "?"
            if i % 3 == 0:
                messages = [
                    {"role": "system", "content": "You are a careful assistant. " + paragraph(rng, pool, (1, 2))},
                    {"role": "user", "content": paragraph(rng, pool, (1, 3))},
                    {"role": "assistant", "content": paragraph(rng, pool, (2, 4))},
                    {"role": "user", "content": question},
                ]
            else:
                messages = [{"role": "user", "content": question}]
            msgs = orjson.dumps(messages).decode()
            track = tracks[1 % len(tracks)] if i % 5 == 0 else tracks[0]
            prompts_rows.append(
                (pid, at, at, project.pk, f"bench-{i}", msgs, question, "[]", track, "{}", content_hash(messages))
            )
            cids = list(range(c0 + i * K, c0 + i * K + K))
            texts: list[str] = []
            while len(texts) < K:
                text = rng.choice(OPENERS) + paragraph(rng, pool, (2, 6))
                if text not in texts:  # equal answers would form no pair
                    texts.append(text)
            for j, (cid, text) in enumerate(zip(cids, texts, strict=True)):
                chars += len(text)
                model = ("llama-3-8b", "qwen2-7b", "mistral-7b", "")[j]
                if model:  # as labelhub.generation.services stores it
                    provenance = orjson.dumps({
                        "source": "generated", "config_id": None, "config_name": f"{model} t0.7",
                        "model_requested": model, "model_reported": model + "-instruct",
                        "sampling": {"temperature": 0.7, "top_p": 1.0, "max_tokens": 512, "seed": None, "stop": []},
                        "system_prompt": "", "sample_index": j, "job_id": cid, "attempt": 1,
                        "generated_at": at.isoformat(),
                    }).decode()  # fmt: skip
                else:  # as an import stores it
                    provenance = orjson.dumps(
                        {"source": "imported", "import_id": None, "line": i + 1, "model": ""}
                    ).decode()
                cand_rows.append((cid, at, at, pid, text, "generated" if model else "imported", model, provenance,
                                  "stop" if model else "", ""))  # fmt: skip
            shown = cids[:]
            rng.shuffle(shown)
            order = orjson.dumps(shown).decode()
            ranks = list(range(1, K + 1))
            rng.shuffle(ranks)
            user = labelers[i % N_LABELERS]
            version = v1.pk if i < n_labels * 2 // 5 else v2.pk
            item_rows.append((wid, at, at, project.pk, pid, "comparison", orjson.dumps(cids).decode(), 1, 1, 1))
            done = at + timedelta(minutes=2)
            assign_rows.append((aid, at, done, wid, user, "submitted", at, at + timedelta(minutes=30), order, version,
                                "", done))  # fmt: skip
            label_rows.append((
                lid, done, done, aid, wid, project.pk, user, "comparison", version, rng.randint(20_000, 300_000),
                order, "", "", "", orjson.dumps({str(c): r for c, r in zip(cids, ranks, strict=True)}).decode(),
                False, orjson.dumps({str(c): rating for c in cids}).decode(), "{}", "", "{}",
                "" if i % 4 else "Clearer and more accurate.", "accepted" if i % 7 == 0 else "pending", "", False,
            ))  # fmt: skip
            pairs += PAIRS_PER_LABEL
        gen_s = time.perf_counter() - t0
        copies = (
            (Prompt, "id, created_at, updated_at, project_id, external_id, messages, text, tags, track, metadata, "
             "content_hash", prompts_rows),
            (Candidate, "id, created_at, updated_at, prompt_id, content, source, model_name, provenance, "
             "finish_reason, raw_escaped", cand_rows),
            (WorkItem, "id, created_at, updated_at, project_id, prompt_id, kind, candidate_ids, overlap, taken, "
             "label_count", item_rows),
            (Assignment, "id, created_at, updated_at, work_item_id, user_id, status, claimed_at, lease_expires_at, "
             "display_order, guideline_version_id, skip_reason, submitted_at", assign_rows),
            (Label, "id, created_at, updated_at, assignment_id, work_item_id, project_id, user_id, kind, "
             "guideline_version_id, time_on_task_ms, display_order, content, original_content, diff, ranks, all_bad, "
             "ratings, flags, strength, safety, rationale, review_status, review_comment, demo", label_rows),
        )  # fmt: skip
        for model, columns, rows in copies:
            copy_rows(cur, model, columns.split(", "), rows)
            rows.clear()
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute("ANALYZE")
    print(
        f"seeded project {project.pk}: {n_labels:,} prompts, {n_candidates:,} candidates "
        f"(mean {chars / n_candidates:.0f} chars), {n_labels:,} labels -> {pairs:,} pairs "
        f"(generate {gen_s:.1f}s, COPY+ANALYZE {time.perf_counter() - t0 - gen_s:.1f}s)",
        flush=True,
    )
    return project.pk, key, pairs


# The same pairs as the HTTP export (trl-preference, pairs=all, review not rejected, no ties, no equal
# texts), in the same order, as JSON built by PostgreSQL the way formats.py builds it: the conversation
# encoded once per label, each answer once per label, spliced into the pairs as text. (One
# json_build_object per pair was 1.6x slower; JIT, on by default, cost ~1 s of compiling per run.)
# OFFSET 0 keeps the label subquery from being flattened into the pair expansion. CSV with a quote and
# a delimiter that never occur (JSON escapes control characters) passes the lines through untouched;
# text format would double every backslash.
COPY_SQL = """
COPY (
  SELECT '{{"prompt":' || x.prompt || ',"chosen":' || pr.chosen || ',"rejected":' || pr.rejected || '}}'
  FROM (
    SELECT l.id, l.work_item_id, l.ranks,
           (SELECT json_agg(json_build_object('role', m->>'role', 'content', m->>'content') ORDER BY n)
              FROM jsonb_array_elements(p.messages) WITH ORDINALITY AS e(m, n))::text AS prompt
      FROM labeling_label l
      JOIN labeling_workitem w ON w.id = l.work_item_id
      JOIN prompts_prompt p ON p.id = w.prompt_id
      JOIN projects_guidelineversion g ON g.id = l.guideline_version_id
     WHERE l.project_id = {project} AND l.kind = 'comparison' AND l.review_status <> 'rejected'
       AND NOT l.all_bad
     ORDER BY l.work_item_id, l.id
    OFFSET 0
  ) x
  CROSS JOIN LATERAL (
    WITH answer AS MATERIALIZED (
      SELECT r.cid::bigint AS id, r.rank::int AS rank, c.content,
             json_build_array(json_build_object('role', 'assistant', 'content', c.content))::text AS encoded
        FROM jsonb_each_text(x.ranks) r(cid, rank)
        JOIN prompts_candidate c ON c.id = r.cid::bigint
    )
    SELECT a.encoded AS chosen, b.encoded AS rejected
      FROM answer a JOIN answer b ON a.rank < b.rank AND a.content <> b.content
     ORDER BY a.rank, a.id, b.rank, b.id
  ) pr
) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc: the bench runs as root, the server
    processes are its own or PostgreSQL's)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_copy(project_id: int) -> dict:
    connection.ensure_connection()
    with connection.connection.cursor() as cur:
        # The baseline at its best: no JIT (compiling took longer than it saved), sorts in memory.
        cur.execute("SET jit = off")
        cur.execute("SET work_mem = '64MB'")
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
        rows = size = 0
        buf = bytearray()
        first = None
        cpu = cpu_seconds(backend)
        start = time.perf_counter()
        with cur.copy(COPY_SQL.format(project=int(project_id))) as copy:
            for data in copy:
                if first is None:
                    first = time.perf_counter() - start
                buf += data
                if len(buf) >= 1 << 20:
                    rows += buf.count(b"\n")
                    size += len(buf)
                    buf.clear()
        rows += buf.count(b"\n")
        size += len(buf)
        seconds = time.perf_counter() - start
        cpu = cpu_seconds(backend) - cpu
        cur.execute("RESET jit")
        cur.execute("RESET work_mem")
    return {"seconds": seconds, "ttfb": first or 0.0, "rows": rows, "bytes": size, "cpu": cpu}


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, value = line.split(":", 1)
                    out[name] = int(value.split()[0]) // 1024  # kB -> MB (MiB)
    except FileNotFoundError:
        pass
    return out


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry))
    return pids


class RssSampler(threading.Thread):
    """Largest VmRSS of the given processes, sampled every 10 ms until stopped."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids, self.peak, self.stop = pids, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max([self.peak, *(_status(p).get("VmRSS", 0) for p in self.pids)])
            self.stop.wait(0.01)


def run_http(base: str, key: str, project_id: int, pids: list[int]) -> dict:
    url = f"{base}/api/v1/projects/{project_id}/exports/preferences.jsonl?{QUERY}"
    sampler = RssSampler(pids)
    sampler.start()
    rows = size = 0
    tail = b""
    with httpx.Client(timeout=httpx.Timeout(600, connect=5)) as client:
        cpu = sum(cpu_seconds(p) for p in pids)
        start = time.perf_counter()
        first = None
        with client.stream("GET", url, headers={"Authorization": f"Token {key}"}) as response:
            if response.status_code != 200:
                response.read()
                sys.exit(f"export failed: HTTP {response.status_code}: {response.text[:500]}")
            # No chunk_size: with one, httpx holds data back until that much has arrived.
            for data in response.iter_raw():
                if first is None:
                    first = time.perf_counter() - start
                rows += data.count(b"\n")
                size += len(data)
                tail = data if len(data) >= 200 else (tail + data)[-200:]
        seconds = time.perf_counter() - start
    cpu = sum(cpu_seconds(p) for p in pids) - cpu
    sampler.stop.set()
    sampler.join()
    if tail.endswith(b"incomplete\n"):
        sys.exit("export failed midway (error marker at the end of the stream)")
    return {"seconds": seconds, "ttfb": first or 0.0, "rows": rows, "bytes": size, "cpu": cpu, "rss_peak": sampler.peak}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=166_667, help="comparison labels (6 pairs each)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of [copy, http] after a warm-up")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    project_id, key, pairs = seed(args.labels)
    port = free_port()
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "bench-only-" + "x" * 40, "ALLOWED_HOSTS": "127.0.0.1",
           "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING", "MALLOC_ARENA_MAX": "2"}  # fmt: skip
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    # As in production (docker-compose.yml, Dockerfile), but one worker so its RSS is the export's:
    # gthread, since a sync worker streaming for longer than --timeout is killed by the arbiter, and
    # MALLOC_ARENA_MAX=2 as the image sets it (each thread's malloc arena would keep ~20 MB after an
    # export: 4 threads took a worker from 109 to 163 MB).
    web = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "labelhub.wsgi:application", f"--bind=127.0.0.1:{port}",
         "--worker-class=gthread", "--workers=1", "--threads=4", "--timeout=120", "--log-level=warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    results: list[tuple[str, dict]] = []
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        pids = []
        for _ in range(100):
            pids = worker_pids(web.pid)
            if pids:
                break
            time.sleep(0.1)
        # Warm the worker (imports, connection, first queries) with an export that selects nothing.
        warm = httpx.get(
            f"{base}/api/v1/projects/{project_id}/exports/preferences.jsonl?{QUERY}&since=2100-01-01",
            headers={"Authorization": f"Token {key}"},
            timeout=60,
        )
        assert warm.status_code == 200 and warm.content == b"", (warm.status_code, warm.text[:300])
        baseline = max(_status(p).get("VmRSS", 0) for p in pids)
        print(f"gunicorn worker pids {pids}, RSS after warm-up {baseline} MB", flush=True)
        warmup = run_copy(project_id)
        print(f"warm-up copy: {warmup['seconds']:.2f}s, {warmup['rows']:,} rows", flush=True)
        for i in range(args.rounds):
            for name, run in (
                ("copy", lambda: run_copy(project_id)),
                ("http", lambda: run_http(base, key, project_id, pids)),
            ):
                r = run()
                results.append((name, r))
                extra = f", worker RSS peak {r['rss_peak']} MB" if "rss_peak" in r else ""
                print(f"round {i + 1} {name}: {r['seconds']:.2f}s, first byte {r['ttfb'] * 1000:.0f} ms, "
                      f"{r['rows']:,} rows, {r['bytes'] / 1e6:,.0f} MB, {r['cpu']:.1f} CPU s{extra}",
                      flush=True)  # fmt: skip
        hwm = max(_status(p).get("VmHWM", 0) for p in pids)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
    copies = [r for name, r in results if name == "copy"]
    https = [r for name, r in results if name == "http"]
    rows = {r["rows"] for r in copies + https}
    assert rows == {pairs}, (
        f"row counts differ: expected {pairs}, copy {[r['rows'] for r in copies]}, http {[r['rows'] for r in https]}"
    )
    best_copy = min(r["seconds"] for r in copies)
    best_http = min(https, key=lambda r: r["seconds"])
    ratio = best_copy / best_http["seconds"]
    ttfb_ms = statistics.median(r["ttfb"] for r in https) * 1000
    rss = max(hwm, *(r["rss_peak"] for r in https))
    print()
    print(f"{'':6} {'best s':>8} {'median s':>9} {'rows/s':>10} {'MB/s':>7} {'first byte':>11} {'CPU s':>7}")
    for name, runs in (("copy", copies), ("http", https)):
        best = min(r["seconds"] for r in runs)
        print(f"{name:6} {best:8.2f} {statistics.median(r['seconds'] for r in runs):9.2f} "
              f"{pairs / best:10,.0f} {runs[0]['bytes'] / 1e6 / best:7.0f} "
              f"{statistics.median(r['ttfb'] for r in runs) * 1000:9.0f}ms "
              f"{min(r['cpu'] for r in runs):7.1f}")  # fmt: skip
    print("(CPU s: the PostgreSQL backend running the COPY; the gunicorn worker serving the export, whose")
    print(" PostgreSQL backend, reading the labels and candidates, is not counted)")
    print(f"worker RSS: {baseline} MB after warm-up, {max(r['rss_peak'] for r in https)} MB sampled peak during "
          f"exports, VmHWM {hwm} MB")  # fmt: skip
    print(f"RESULT export_ratio_vs_copy={ratio:.2f} rss_mb={rss} ttfb_ms={ttfb_ms:.0f} rows={pairs}")


if __name__ == "__main__":
    main()
