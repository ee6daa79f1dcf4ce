"""Guideline diffs at their worst: `make bench-diff` (PostgreSQL from scripts/with-services.sh).

Two parts. First core.diff alone on the worst inputs a 200,000-character version allows (the API
caps guidelines at 200,000 characters): the issue's 6,000 short lines with no line unique, 6,000
repeating lines with three edits, random text, near-identical text, 100,000 one-letter lines (past
the work budget: coarse), one long line, nothing against everything; best of --repeat runs, the
work counted, whether it turned coarse. With --difflib, the code it replaced (difflib's
unified_diff + SequenceMatcher(autojunk=False), as projects.selectors.diff_texts did) on the
repeating case, once (on the issue's case it ran over 120 s). Then the same versions through
Django's full request handling (the test client): the diff API, the web page unified and side by
side, and the workbench's acknowledgement gate; median of --repeat requests each.
Last line: `RESULT worst_diff_ms=<max of part one> worst_request_ms=<max of part two>`.
"""

import argparse
import difflib
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

from django.conf import settings  # noqa: E402

# Production settings but plain static storage: no collectstatic manifest needed in a bench.
PLAIN_STATIC = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
settings.STORAGES = {**settings.STORAGES, "staticfiles": PLAIN_STATIC}

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from labelhub.accounts.models import User  # noqa: E402
from labelhub.core.diff import diff_lines, side_by_side_rows, unified_lines  # noqa: E402
from labelhub.projects import services as project_services  # noqa: E402
from labelhub.projects.models import Membership, Role  # noqa: E402

SIZE = 200_000
WORDS = ["the", "model", "answer", "must", "be", "helpful", "and", "safe", "-", "1.", "never", "refuse"]


def _text(rng: random.Random, size: int) -> str:
    out, length = [], 0
    while length < size:
        line = " ".join(rng.choices(WORDS, k=rng.randint(1, 12)))
        out.append(line)
        length += len(line) + 1
    return "\n".join(out)[:size]


def cases() -> dict[str, tuple[str, str]]:
    rng = random.Random(2026)
    repeating = [("- a", "- b", "- c")[n % 3] for n in range(6_000)]
    edited = list(repeating)
    edited[1_000], edited[3_000], edited[5_000] = "- changed", "- changed", "- changed"
    old = _text(rng, SIZE)
    near = old.splitlines()
    for _ in range(300):
        near[rng.randrange(len(near))] = _text(rng, 40)
    return {
        "6,000 lines, none unique (issue)": ("\n".join(["a", "b"] * 3_000), "\n".join(["a", "b", "c"] * 2_000)),
        "6,000 repeating lines, 3 edits": ("\n".join(repeating), "\n".join(edited)),
        "random text 200k": (old, _text(rng, SIZE)),
        "near-identical 200k": (old, "\n".join(near)[:SIZE]),
        "one-letter lines 200k": (
            "\n".join(rng.choices("abc", k=SIZE // 2))[:SIZE],
            "\n".join(rng.choices("abc", k=SIZE // 2))[:SIZE],
        ),
        "one long line 200k": ("x" * SIZE, "x" * (SIZE // 2) + "y" + "x" * (SIZE // 2 - 1)),
        "nothing vs 200k": ("", old),
    }


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def pure(all_cases: dict, repeat: int, with_difflib: bool) -> float:
    print(f"core.diff alone (best of {repeat}): diff + unified + side-by-side rows, capped at 2,000 rows")
    worst = 0.0
    for name, (old, new) in all_cases.items():

        def run(old=old, new=new):
            diff = diff_lines(old, new)
            unified_lines(diff, old_label="a", new_label="b", max_rows=2_000)
            side_by_side_rows(diff, max_rows=2_000)
            return diff

        seconds = best_of(repeat, run)
        diff = run()
        worst = max(worst, seconds)
        lines = len(diff.a) + len(diff.b)
        print(
            f"  {name:32} {seconds * 1000:7.1f} ms  lines {lines:7,}  work {diff.work:9,}  "
            f"+{diff.added:,} -{diff.removed:,}{'  COARSE' if diff.coarse else ''}"
        )
    if with_difflib:
        old, new = all_cases["6,000 repeating lines, 3 edits"]
        a, b = old.splitlines(), new.splitlines()
        started = time.perf_counter()
        list(difflib.unified_diff(a, b, "a", "b", lineterm=""))
        list(difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes())
        print(f"  before: difflib, 6,000 repeating lines  {(time.perf_counter() - started) * 1000:,.0f} ms")
        print("  (difflib on the 'none unique' case: over 120 s, not run here)")
    return worst


def requests(all_cases: dict, repeat: int) -> float:
    admin, _ = User.objects.get_or_create(username="bench-diff-admin", defaults={"is_staff": True})
    labeler, _ = User.objects.get_or_create(username="bench-diff-labeler")
    admin_client, labeler_client = Client(), Client()
    admin_client.force_login(admin)
    labeler_client.force_login(labeler)
    print(f"Requests in-process (median of {repeat}): API, web unified, web side by side, workbench gate")
    worst = 0.0
    for name, (old, new) in all_cases.items():
        project = project_services.project_create(user=admin, name=f"bench-diff-{time.time()}")
        Membership.objects.create(project=project, user=labeler, role=Role.LABELER)
        project_services.guideline_version_publish(project=project, user=admin, change_note="old", content=old or "-")
        project_services.guideline_acknowledge(project=project, user=labeler, number=1)
        project_services.guideline_version_publish(project=project, user=admin, change_note="new", content=new)
        page = reverse("projects:guideline-diff", args=[project.pk])
        urls = {
            "api": (admin_client, f"/api/v1/projects/{project.pk}/guidelines/diff?from=1&to=2"),
            "unified": (admin_client, f"{page}?from=1&to=2&mode=unified"),
            "side": (admin_client, f"{page}?from=1&to=2&mode=side"),
            "gate": (labeler_client, reverse("projects:labeling:workbench", args=[project.pk])),
        }
        row = []
        for where, (client, url) in urls.items():
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{where} {name}: {response.status_code}")
            median = statistics.median(times)
            worst = max(worst, median)
            row.append(f"{where} {median * 1000:6.1f}")
        print(f"  {name:32} " + "  ".join(row) + " ms")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--difflib", action="store_true", help="also time the replaced difflib code, once")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    all_cases = cases()
    worst_diff = pure(all_cases, args.repeat, args.difflib)
    worst_request = requests(all_cases, args.repeat)
    print(f"RESULT worst_diff_ms={worst_diff * 1000:.1f} worst_request_ms={worst_request * 1000:.1f}")
    connection.close()


if __name__ == "__main__":
    main()
