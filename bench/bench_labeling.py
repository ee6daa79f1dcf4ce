"""Labeling under load: `make bench-labeling` (PostgreSQL + Redis from scripts/with-services.sh).

Seeds a project (demonstration and comparison items), 50 labelers with API tokens, serves the app
with gunicorn on loopback and runs locust headless: 50 users claiming and submitting for
--duration seconds. Then checks the database: no item over its overlap, no labeler twice on an
item. Last line: `RESULT p95_ms=<n> errors=<n> duplicates=<n>`.

With --snapshot (`make bench-load`: 10 minutes, gunicorn as production runs it): a second project of
--snapshot-labels comparison labels is seeded with COPY (bench_export's seeder) and, --snapshot-at
seconds into the load, an engineer asks for a preference snapshot over the API; a Celery worker on
the exports queue writes it while the labelers work. The claim (work/next) p95 during the snapshot
is compared with the p95 outside it, measured in the same run.
"""

import argparse
import csv
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Count, F  # noqa: E402

from labelhub.accounts.models import User  # noqa: E402
from labelhub.accounts.services import api_token_create  # noqa: E402
from labelhub.labeling.models import Label, WorkItem  # noqa: E402
from labelhub.labeling.services import work_items_sync  # noqa: E402
from labelhub.projects import services as project_services  # noqa: E402
from labelhub.projects.models import Membership, Role  # noqa: E402
from labelhub.prompts.models import Candidate, Prompt  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(n_prompts: int, n_users: int) -> tuple[int, list[str]]:
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True})
    project = project_services.project_create(user=admin, name=f"bench-labeling-{int(time.time())}")
    version = project_services.guideline_version_publish(project=project, user=admin, change_note="v1", content="# G")
    prompts = Prompt.objects.bulk_create(
        [
            Prompt(
                project=project,
                messages=[{"role": "user", "content": f"Question number {i}?"}],
                text=f"Question number {i}?",
                content_hash=f"{i:064d}",
                track="harmless" if i % 4 == 0 else "helpful",
            )
            for i in range(n_prompts)
        ]
    )
    Candidate.objects.bulk_create(
        [Candidate(prompt=p, content=f"Answer {j} to {p.text}", source="imported") for p in prompts for j in range(2)]
    )
    work_items_sync(project=project)
    tokens = []
    for i in range(n_users):
        user, _ = User.objects.get_or_create(username=f"bench-labeler-{project.pk}-{i}")
        Membership.objects.create(project=project, user=user, role=Role.LABELER)
        project_services.guideline_acknowledge(project=project, user=user, number=version.number)
        tokens.append(api_token_create(user=user, name="bench")[1])
    return project.pk, tokens


def wait_until_warm(base: str, concurrency: int) -> None:
    """gunicorn's master accepts connections before its workers have booted: wait until every
    worker answers (two rounds of concurrent health checks all served within a second), so the run
    measures the service, not the boot. One shared client and a pause between rounds: the probes
    must not eat the CPU the workers need to boot."""
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(base_url=base, timeout=30) as client, ThreadPoolExecutor(concurrency) as pool:

        def probe(_i: int) -> float:
            started = time.perf_counter()
            try:
                ok = client.get("/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            return time.perf_counter() - started if ok else float("inf")

        deadline, good_rounds = time.time() + 300, 0
        while time.time() < deadline:
            good_rounds = good_rounds + 1 if max(pool.map(probe, range(concurrency))) < 1.0 else 0
            if good_rounds == 2:
                return
            time.sleep(1)
    raise SystemExit("gunicorn did not become ready")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class SnapshotBesideTheLoad(threading.Thread):
    """After `delay` seconds, asks for a snapshot of the export project over the API (as an engineer
    would) and polls it to its end; `started`/`finished` are wall-clock times (locust's clock)."""

    def __init__(self, base: str, project_id: int, key: str, delay: float):
        super().__init__(daemon=True)
        self.base, self.project_id, self.key, self.delay = base, project_id, key, delay
        self.started = self.finished = None
        self.result: dict = {}

    def run(self) -> None:
        time.sleep(self.delay)
        headers = {"Authorization": f"Token {self.key}"}
        url = f"{self.base}/api/v1/projects/{self.project_id}/snapshots"
        self.started = time.time()
        created = httpx.post(url, json={"kind": "preferences", "format": "trl-preference"}, headers=headers, timeout=60)
        created.raise_for_status()
        snapshot_id = created.json()["id"]
        while True:
            time.sleep(1)
            self.result = httpx.get(f"{url}/{snapshot_id}", headers=headers, timeout=60).json()
            if self.result["status"] in ("done", "failed"):
                self.finished = time.time()
                return


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--prompts", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (>1: gthread, as production)")
    parser.add_argument("--keep-alive", type=int, default=2, help="gunicorn --keep-alive seconds (its default: 2)")
    parser.add_argument("--request-log", help="keep every request (time, name, ms, failed) in this CSV file")
    parser.add_argument("--snapshot", action="store_true", help="run a long snapshot export beside the load")
    parser.add_argument("--snapshot-labels", type=int, default=100_000, help="comparison labels to export")
    parser.add_argument("--snapshot-at", type=float, default=60, help="seconds into the load")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    export_project = export_key = None
    if args.snapshot:
        from bench.bench_export import seed as seed_export

        export_project, export_key, pairs = seed_export(args.snapshot_labels)
    project_id, tokens = seed(args.prompts, args.users)
    print(f"seeded project {project_id}: {WorkItem.objects.filter(project_id=project_id).count()} work items")
    port = free_port()
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "bench-only-" + "x" * 40, "ALLOWED_HOSTS": "127.0.0.1",
           "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING", "MALLOC_ARENA_MAX": "2"}  # fmt: skip
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    worker_class = ["--worker-class=gthread", f"--threads={args.threads}"] if args.threads > 1 else []
    web = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "labelhub.wsgi:application", f"--bind=127.0.0.1:{port}",
         f"--workers={args.workers}", *worker_class, "--timeout=120", f"--keep-alive={args.keep_alive}",
         "--log-level=warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    celery = None
    if args.snapshot:
        # The snapshot runs where production runs it: a Celery worker on the exports queue.
        celery = subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "labelhub", "worker", "-Q", "exports", "-c", "1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        tokens_file = Path(tmp) / "tokens"
        tokens_file.write_text("\n".join(tokens))
        request_log = Path(tmp) / "requests.csv"
        snapshot = None
        try:
            wait_until_warm(base, args.workers * args.threads)
            if args.snapshot:
                snapshot = SnapshotBesideTheLoad(base, export_project, export_key, args.snapshot_at)
                snapshot.start()
            subprocess.run(
                [str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "bench/locustfile_labeling.py"), "--headless",
                 "-u", str(args.users), "-r", str(args.users), "-t", f"{args.duration}s", "--host", base,
                 "--csv", f"{tmp}/out", "--only-summary", "--loglevel", "WARNING"],
                env={**os.environ, "LOCUST_TOKENS_FILE": str(tokens_file), "LOCUST_PROJECT_ID": str(project_id),
                     "LOCUST_REQUEST_LOG": str(request_log)},
                check=False,
            )  # fmt: skip
            if snapshot is not None:
                snapshot.join(timeout=1800)
            with open(f"{tmp}/out_stats.csv") as f:
                rows = {row["Name"]: row for row in csv.DictReader(f)}
            with open(f"{tmp}/out_failures.csv") as f:
                for row in list(csv.DictReader(f))[:5]:
                    print(f"failure x{row['Occurrences']}: {row['Name']}: {row['Error'][:300]}")
            log = [line.split(",") for line in request_log.read_text().splitlines()]
            if args.request_log:
                Path(args.request_log).write_text(request_log.read_text())
        finally:
            for proc in (celery, web):
                if proc is not None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=60)
    total = rows["Aggregated"]
    requests, errors, p95 = int(total["Request Count"]), int(total["Failure Count"]), float(total["95%"])
    for name in ("work/next", "demonstration", "ranking"):
        if name in rows:
            r = rows[name]
            print(f"{name:14} n={r['Request Count']:>6} fail={r['Failure Count']:>3} "
                  f"median={r['Median Response Time']}ms p95={r['95%']}ms p99={r['99%']}ms")  # fmt: skip
    # p95 per minute (is the tail steady over the run, or does it grow?)
    if log:
        t0 = min(float(t) for t, *_ in log)
        minutes: dict[int, list[float]] = {}
        for t, _name, ms, _failed in log:
            minutes.setdefault(int((float(t) - t0) // 60), []).append(float(ms))
        print("p95 per minute (ms): " + " ".join(f"{percentile(v, 0.95):.0f}" for _m, v in sorted(minutes.items())))
    labels = Label.objects.filter(project_id=project_id)
    twice = labels.values("work_item", "user").annotate(n=Count("id")).filter(n__gt=1).count()
    over = WorkItem.objects.filter(project_id=project_id, label_count__gt=F("overlap")).count()
    mismatched = sum(
        1
        for item_id, n in labels.values_list("work_item").annotate(n=Count("id"))
        if n > WorkItem.objects.get(pk=item_id).overlap
    )
    duplicates = twice + over + mismatched
    print(f"requests={requests} labels={labels.count()} throughput={labels.count() / args.duration:.1f} labels/s")
    extra = ""
    if snapshot is not None:
        if snapshot.finished is None:
            print(f"the snapshot did not finish: {snapshot.result}")
            extra = " snapshot=unfinished"
        else:
            during = [float(ms) for t, name, ms, _f in log if name == "work/next"
                      and snapshot.started <= float(t) <= snapshot.finished]  # fmt: skip
            outside = [float(ms) for t, name, ms, _f in log if name == "work/next"
                       and not snapshot.started <= float(t) <= snapshot.finished]  # fmt: skip
            p_during, p_outside = percentile(during, 0.95), percentile(outside, 0.95)
            print(
                f"snapshot: {snapshot.result['status']} in {snapshot.finished - snapshot.started:.0f}s, "
                f"{snapshot.result['rows']:,} rows of {pairs:,}, {snapshot.result['size_bytes'] / 1e6:.0f} MB"
            )
            print(f"work/next p95 during the snapshot {p_during:.0f}ms (n={len(during)}), "
                  f"outside {p_outside:.0f}ms (n={len(outside)})")  # fmt: skip
            extra = (f" snapshot_s={snapshot.finished - snapshot.started:.0f} snapshot_rows={snapshot.result['rows']}"
                     f" claim_p95_during_ms={p_during:.0f} claim_p95_outside_ms={p_outside:.0f}")  # fmt: skip
    print(f"RESULT p95_ms={p95:.0f} errors={errors} duplicates={duplicates}{extra}")


if __name__ == "__main__":
    main()
