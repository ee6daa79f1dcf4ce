"""Labeling under load: `make bench-labeling` (PostgreSQL + Redis from scripts/with-services.sh).

Seeds a project (demonstration and comparison items), 50 labelers with API tokens, serves the app
with gunicorn on loopback and runs locust headless: 50 users claiming and submitting for
--duration seconds. Then checks the database: no item over its overlap, no labeler twice on an
item. Last line: `RESULT p95_ms=<n> errors=<n> duplicates=<n>`.
"""

import argparse
import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")

import django  # noqa: E402

django.setup()

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--prompts", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    project_id, tokens = seed(args.prompts, args.users)
    print(f"seeded project {project_id}: {WorkItem.objects.filter(project_id=project_id).count()} work items")
    port = free_port()
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "bench-only-" + "x" * 40, "ALLOWED_HOSTS": "127.0.0.1",
           "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING"}  # fmt: skip
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    web = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "labelhub.wsgi:application", f"--bind=127.0.0.1:{port}",
         f"--workers={args.workers}", "--log-level=warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        tokens_file = Path(tmp) / "tokens"
        tokens_file.write_text("\n".join(tokens))
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.2)
            subprocess.run(
                [str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "bench/locustfile_labeling.py"), "--headless",
                 "-u", str(args.users), "-r", str(args.users), "-t", f"{args.duration}s", "--host",
                 f"http://127.0.0.1:{port}", "--csv", f"{tmp}/out", "--only-summary", "--loglevel", "WARNING"],
                env={**os.environ, "LOCUST_TOKENS_FILE": str(tokens_file), "LOCUST_PROJECT_ID": str(project_id)},
                check=False,
            )  # fmt: skip
            with open(f"{tmp}/out_stats.csv") as f:
                rows = {row["Name"]: row for row in csv.DictReader(f)}
            with open(f"{tmp}/out_failures.csv") as f:
                for row in list(csv.DictReader(f))[:5]:
                    print(f"failure x{row['Occurrences']}: {row['Name']}: {row['Error'][:300]}")
        finally:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(timeout=30)
    total = rows["Aggregated"]
    requests, errors, p95 = int(total["Request Count"]), int(total["Failure Count"]), float(total["95%"])
    for name in ("work/next", "demonstration", "ranking"):
        if name in rows:
            r = rows[name]
            print(f"{name:14} n={r['Request Count']:>6} fail={r['Failure Count']:>3} "
                  f"median={r['Median Response Time']}ms p95={r['95%']}ms p99={r['99%']}ms")  # fmt: skip
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
    print(f"RESULT p95_ms={p95:.0f} errors={errors} duplicates={duplicates}")


if __name__ == "__main__":
    main()
