"""Prompt import throughput: `make bench-import` (PostgreSQL from scripts/with-services.sh).

Generates a JSONL file of N prompts (single-turn and multi-turn, tags, metadata, some with
imported candidates), imports it through the same service a worker runs, then re-imports it
(every line is skipped). Prints lines/s for both; the last line is
`RESULT import_rows_per_s=<n>`.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from labelhub.accounts.models import User  # noqa: E402
from labelhub.projects.services import project_create  # noqa: E402
from labelhub.prompts import services  # noqa: E402
from labelhub.prompts.models import ImportStatus, Prompt  # noqa: E402

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "model",
    "answer",
    "truth",
    "harm",
    "help",
    "kind",
    "quick",
    "brown",
    "fox",
    "jumps",
    "lazy",
    "dog",
]


def make_file(path: Path, n: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            text = " ".join(rng.choices(WORDS, k=rng.randint(8, 40))) + f" #{i} 😀"
            rec: dict = {"id": f"bench-{i}", "tags": rng.sample(WORDS, 2), "track": rng.choice(["helpful", "harmless"])}
            if i % 3 == 0:
                rec["messages"] = [
                    {"role": "system", "content": "Be concise."},
                    {"role": "user", "content": "Earlier question " + text[:40]},
                    {"role": "assistant", "content": "Earlier answer."},
                    {"role": "user", "content": text},
                ]
            else:
                rec["prompt"] = text
            if i % 5 == 0:
                rec["candidates"] = [{"content": "Candidate " + text[:60], "model": "external"}]
            rec["metadata"] = {"source": "bench", "n": i}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path.stat().st_size


def run_import(project, user, path: Path) -> tuple[float, object]:
    with open(path, "rb") as src:
        spooled, size, lines = services.spool_upload(chunks=iter(lambda: src.read(1 << 20), b""), max_bytes=1 << 31)
    imp = services.prompt_import_create(
        project=project, user=user, path=spooled, filename=path.name, file_format="jsonl", size=size, lines=lines
    )
    start = time.perf_counter()
    imp = services.prompt_import_run(import_id=imp.pk)
    elapsed = time.perf_counter() - start
    if imp.status != ImportStatus.DONE:
        sys.exit(f"import failed: {imp.message} {imp.errors[:3]}")
    return elapsed, imp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    print(f"database: {connection.vendor}", flush=True)
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True})
    project = project_create(user=user, name=f"bench-import-{int(time.time())}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prompts.jsonl"
        size = make_file(path, args.lines)
        print(f"file: {args.lines} lines, {size / 1e6:.1f} MB", flush=True)
        first, imp = run_import(project, user, path)
        print(
            f"first import: {imp.created_count} created, {imp.candidate_count} candidates in {first:.2f}s "
            f"-> {args.lines / first:,.0f} lines/s",
            flush=True,
        )
        again, imp2 = run_import(project, user, path)
        print(
            f"re-import:    {imp2.created_count} created, {imp2.skipped_count} skipped in {again:.2f}s "
            f"-> {args.lines / again:,.0f} lines/s",
            flush=True,
        )
    assert Prompt.objects.filter(project=project).count() == args.lines
    print(f"RESULT import_rows_per_s={args.lines / first:.0f}")


if __name__ == "__main__":
    main()
