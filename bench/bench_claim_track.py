"""The claim's plan when the labeler chose a kind and a track (issue 15, "choosing work"):
`scripts/with-services.sh .venv/bin/python bench/bench_claim_track.py [--prompts N]`.

Seeds one project of bench/bench_scale.py's shape (70 % helpful, 20 % harmless, 10 % red-team; the
queue worked in id order, the newest items open) and prints EXPLAIN (ANALYZE, BUFFERS) of the claim
statement (labeling.services._CLAIM_SQL, rolled back) for: any kind and track, comparisons only, and
comparisons on each track. The track filter is a primary-key probe of the prompt per open item
walked; the walk stays on the partial index work_item_open, so its length is about 1 / (share of the
track among open items)."""

import argparse
import random
import re
import time

from django.core.management import call_command
from django.utils import timezone

from bench.bench_scale import connection, seed_project, setup_people, topic_words, transaction
from labelhub.labeling import services
from labelhub.projects.models import GuidelineVersion


def explain(project, user, kinds: list[str], track: str) -> str:
    now = timezone.now()
    version = GuidelineVersion.objects.filter(project=project).order_by("-number").first()
    params = {
        "project": project.pk, "kinds": kinds, "gold": False, "user": user.pk, "now": now,
        "expires": now, "version": version.pk, "track": track,
    }  # fmt: skip
    columns = services._claim_columns()
    sql = services._CLAIM_SQL.format(
        claimed=columns[0], item=columns[1], prompt=columns[2], seen_by=services._SEEN_BY_OTHERS,
        on_track=services._ON_TRACK if track else "",
    )  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=50_000)
    parser.add_argument("--labels", type=int, default=150_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    people = setup_people(20)
    t0 = time.perf_counter()
    info = seed_project(f"track-{int(time.time())}", args.prompts, args.labels, people, rng, topic_words(rng))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"seeded {args.prompts} prompts, {args.labels} labels in {time.perf_counter() - t0:.0f}s")
    project, user = info["project"], people["labelers"][-1]
    for kinds, track in (
        (["demonstration", "comparison"], ""),
        (["comparison"], ""),
        (["comparison"], "helpful"),
        (["comparison"], "harmless"),
        (["comparison"], "red-team"),
        (["demonstration"], "red-team"),
    ):
        plan = explain(project, user, kinds, track)
        total = re.search(r"Execution Time: ([\d.]+) ms", plan).group(1)
        walk = re.search(r"Index Scan using work_item_open.*?actual time=\S+ rows=(\d+) loops=(\d+)", plan, re.S)
        walked = walk.group(1) if walk else "?"
        print(f"\n=== kinds={kinds} track={track or 'any'}: {total} ms; open items walked: {walked}")
        print(plan)


if __name__ == "__main__":
    main()
