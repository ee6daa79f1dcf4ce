"""Pages and claims at scale: `make bench-scale` (PostgreSQL + Redis from scripts/with-services.sh).

Seeds, in one database and with COPY (not the ORM), a big project (--prompts, default 1,000,000
prompts; --labels, default 3,000,000 labels) and a small one of the same shape (--small-prompts,
default 10,000, and labels in the same proportion), then ANALYZE. The shape, per project:

- every prompt (70 % helpful, 20 % harmless, 10 % red-team; a third tagged; a third multi-turn) has a
  demonstration item (overlap 1); three prompts in four have 2 candidates and a comparison item
  (overlap 3); the queue is worked in id order, so the oldest items are full, a band of partly
  labeled items follows and the newest are open;
- the labels (a quarter demonstrations, the rest rankings; 70 % accepted, 30 % pending review)
  are spread over --labelers labelers (the same accounts in both projects), with their submitted
  assignments; 2 % of the full comparison items wait for adjudication; gold rate 0.1 and 50 gold
  items (the first open comparisons), which the labelers who claim in the bench have all done already
  (the gold pick then finds nothing: the worst case for it).

Then, in-process with Django's test Client (no network, less noise), --rounds rounds, each
measuring both projects back to back (the order alternating): the labeler's workbench and its
progress partial, the admin's overview, review queue and adjudication queue (the pages that show
the queue), the prompt list page (first page, a page deep in the list by its keyset cursor, two
searches, a track filter) and the prompts API (first page, a deep cursor page, two searches, a tag
filter), and next-task: `work/next` + the submit by --claimers labelers. Each request's time and its
SQL queries are recorded (CaptureQueriesContext). The report: p50/p95 per page and project, the
ratio big/small (target ≤ 1.5) and the query counts (target: equal). --explain: EXPLAIN ANALYZE of
the slowest query of each page over target, on the big project.

Last line: `RESULT worst_p95_ratio=<r> query_counts_equal=<yes|no>`.
"""

import argparse
import base64
import logging
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labelhub.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import NOT_PROVIDED, BooleanField, JSONField  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.bench_export import _ids  # noqa: E402 - one id reservation for both COPY seeders
from labelhub.accounts.models import User  # noqa: E402
from labelhub.accounts.services import api_token_create  # noqa: E402
from labelhub.labeling.models import Assignment, Label, WorkItem  # noqa: E402
from labelhub.projects import services as project_services  # noqa: E402
from labelhub.projects.models import GuidelineAcknowledgement, Membership, Project, Role  # noqa: E402
from labelhub.prompts.models import Candidate, ProjectTag, Prompt  # noqa: E402
from labelhub.quality.models import GoldStandard  # noqa: E402
from labelhub.quality.services import GOLD_OVERLAP  # noqa: E402

HOST = "127.0.0.1"
TRACKS = ("helpful",) * 7 + ("harmless",) * 2 + ("red-team",)
TAGS = ("math", "code", "safety", "chat", "history")
VOCABULARY = (
    "the model should answer clearly and cite its sources when it can a good reply explains why gives an "
    "example avoids jargon admits uncertainty and never invents facts temperature pressure budget recipe "
    "garden python function error server latency privacy contract history climate vaccine mortgage café"
)
WORDS = VOCABULARY.split()
SYLLABLES = ("ka", "lo", "mir", "vex", "dun", "sa", "tor", "quil", "fen", "zo", "bra", "nim", "os", "rel", "ty")
N_TOPICS = 1000  # a prompt is "about" one topic word: each matches 0.1 % of prompts
# Searched for: a word in 1 % of the prompts (both projects fill a page), and a rare word planted in
# exactly 20 prompts of each project (both show the same 20 rows: the index path, same output).
COMMON, NEEDLE, N_NEEDLES = "velocimarch", "zanzibarquix", 20
COMPARISON_SHARE = 0.75
DEMO_OVERLAP, COMPARISON_OVERLAP = 1, 3
BAND = 0.04  # share of the queue's slots in the partly labeled band
ADJUDICATION_SHARE = 0.02
N_GOLD = 50  # gold items per project (a hand-made set: the same size in both projects)
GOLD_LABELERS = 30  # each gold item was already labeled by the first 30 labelers (the claimers among them)


def topic_words(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < N_TOPICS:
        words.add("".join(rng.choices(SYLLABLES, k=4)))
    return sorted(words)


def _text_value(field, value) -> str:
    if isinstance(field, JSONField):
        return orjson.dumps(value).decode()
    if isinstance(field, BooleanField):
        return "t" if value else "f"
    return str(value)


class Copier:
    """COPY ... FROM STDIN in text format, rows given as tab-joined strings (the generated values hold
    no tab, newline or backslash, so nothing needs escaping: several times faster than write_row).
    NOT NULL columns left out get the model field's default (the schema grows; the bench must not
    break when a column with a default is added)."""

    def __init__(self, cur, model, columns: str, deferred: bool = False):
        names = [c.strip() for c in columns.split(",")]
        extra_names, extra_values = [], []
        for f in model._meta.concrete_fields:
            if f.column in names or f.null or f.db_default is not NOT_PROVIDED:
                continue
            extra_names.append(f.column)
            extra_values.append(_text_value(f, f.get_default()))
        self.suffix = "".join("\t" + v for v in extra_values) + "\n"
        self.sql = f"COPY {model._meta.db_table} ({', '.join(names + extra_names)}) FROM STDIN"
        self.cur, self.buf, self.rows, self.size = cur, [], 0, 0
        self.copy_cm = self.copy = None
        # One COPY at a time per connection: a deferred copier keeps its data until it is closed.
        self.deferred, self.held = deferred, []

    def __enter__(self):
        if not self.deferred:
            self.copy_cm = self.cur.copy(self.sql)
            self.copy = self.copy_cm.__enter__()
        return self

    def add(self, line: str) -> None:
        self.buf.append(line)
        self.buf.append(self.suffix)
        self.rows += 1
        if len(self.buf) >= 20_000:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            data = "".join(self.buf).encode()
            self.size += len(data)
            if self.deferred:
                self.held.append(data)
            else:
                self.copy.write(data)
            self.buf.clear()

    def __exit__(self, *exc):
        if exc[0] is not None:
            return self.copy_cm.__exit__(*exc) if self.copy_cm else None
        self.flush()
        if self.deferred:
            with self.cur.copy(self.sql) as copy:
                for data in self.held:
                    copy.write(data)
            self.held.clear()
            return None
        return self.copy_cm.__exit__(None, None, None)


BULK_TABLES = ("prompts_prompt", "prompts_candidate", "labeling_workitem", "labeling_assignment", "labeling_label")


def indexes_drop() -> list[tuple[str, str]]:
    """Drop the plain (non-constraint) indexes of the seeded tables: COPY then CREATE INDEX is several
    times faster than COPY into indexed tables. Returns (name, definition) to recreate them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            [list(BULK_TABLES)],
        )
        found = cursor.fetchall()
        for name, _definition in found:
            cursor.execute(f'DROP INDEX "{name}"')
    return found


def indexes_create(found: list[tuple[str, str]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for _name, definition in found:
            cursor.execute(definition)
        cursor.execute("RESET maintenance_work_mem")


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S+00")


def setup_people(n_labelers: int) -> dict:
    admin, _ = User.objects.get_or_create(username="scale-admin", defaults={"is_staff": True})
    reviewer, _ = User.objects.get_or_create(username="scale-reviewer")
    labelers = []
    for i in range(n_labelers):
        user, _ = User.objects.get_or_create(username=f"scale-labeler-{i}")
        labelers.append(user)
    return {"admin": admin, "reviewer": reviewer, "labelers": labelers}


def seed_project(name: str, n_prompts: int, n_labels: int, people: dict, rng: random.Random, topics: list[str]) -> dict:
    """One project of the shape described in the module docstring; returns ids the measurements use."""
    admin, labelers = people["admin"], people["labelers"]
    project = project_services.project_create(user=admin, name=name)
    version = project_services.guideline_version_publish(project=project, user=admin, change_note="v1", content="# G")
    Membership.objects.bulk_create(
        [Membership(project=project, user=u, role=Role.LABELER) for u in labelers]
        + [Membership(project=project, user=people["reviewer"], role=Role.REVIEWER)]
    )
    GuidelineAcknowledgement.objects.bulk_create(
        [GuidelineAcknowledgement(version=version, user=u) for u in [*labelers, people["reviewer"], admin]],
        ignore_conflicts=True,  # publishing acknowledged it for the admin
    )
    ProjectTag.objects.bulk_create([ProjectTag(project=project, name=t) for t in TAGS])
    n_lab = len(labelers)
    lab_ids = [u.pk for u in labelers]
    has_cmp = [rng.random() < COMPARISON_SHARE for _ in range(n_prompts)]
    n_cmp = sum(has_cmp)
    n_items = n_prompts + n_cmp
    slots = n_prompts * DEMO_OVERLAP + n_cmp * COMPARISON_OVERLAP
    n_labels = min(n_labels, slots - n_items // 20)  # always leave open work
    n_gold_labels = N_GOLD * GOLD_LABELERS
    p0 = _ids("prompts_prompt", n_prompts)
    c0 = _ids("prompts_candidate", 2 * n_cmp)
    w0 = _ids("labeling_workitem", n_items)
    a0 = _ids("labeling_assignment", n_labels + n_gold_labels)
    l0 = _ids("labeling_label", n_labels + n_gold_labels)
    now = datetime.now(UTC)
    start = now - timedelta(days=180)
    step = timedelta(days=179) / max(n_items, 1)  # the last labels are a day old; "today" holds none
    sentences = [" ".join(rng.choices(WORDS, k=rng.randint(6, 14))) for _ in range(2000)]
    answers = [" ".join(rng.choices(WORDS, k=rng.randint(20, 60))).capitalize() + "." for _ in range(2000)]
    band_labels = int(slots * BAND / 2)
    remaining = n_labels
    gold_items: list[tuple[int, list[int]]] = []
    counts = {"items_full": 0, "items_partial": 0, "items_open": 0, "adjudication": 0, "demo_labels": 0}
    vid, pid_s = version.pk, str(project.pk)
    rating = orjson.dumps({"helpful": 5, "truthful": 6, "harmless": 7}).decode()
    t0 = time.perf_counter()
    connection.ensure_connection()
    with connection.connection.cursor() as cur:
        # Bench data only, built consistent: skip the (deferred, row-by-row) foreign-key triggers.
        cur.execute("SET session_replication_role = replica")
        pc = Copier(cur, Prompt, "id, created_at, updated_at, project_id, external_id, messages, text, tags, track, "
                    "metadata, content_hash")  # fmt: skip
        cc = Copier(cur, Candidate, "id, created_at, updated_at, prompt_id, content, source, model_name, provenance, "
                    "finish_reason, raw_escaped", deferred=True)  # fmt: skip
        wc = Copier(cur, WorkItem, "id, created_at, updated_at, project_id, prompt_id, kind, candidate_ids, overlap, "
                    "taken, label_count, is_gold, needs_adjudication")  # fmt: skip
        ac = Copier(cur, Assignment, "id, created_at, updated_at, work_item_id, user_id, status, claimed_at, "
                    "lease_expires_at, display_order, guideline_version_id, skip_reason, submitted_at")  # fmt: skip
        lc = Copier(cur, Label, "id, created_at, updated_at, assignment_id, work_item_id, project_id, user_id, kind, "
                    "guideline_version_id, time_on_task_ms, display_order, content, original_content, diff, ranks, "
                    "all_bad, ratings, flags, strength, safety, rationale, review_status, review_comment, "
                    "demo")  # fmt: skip
        wid, cid = w0, c0
        items: list[tuple] = []  # (work item id, kind, prompt id, candidate ids, created)
        with cc, pc:  # pc closes first, then the deferred cc copies
            for i in range(n_prompts):
                pid = p0 + i
                at = _ts(start + step * (wid - w0))
                topic = COMMON if i % 100 == 3 else topics[rng.randrange(N_TOPICS)]
                if i % (n_prompts // N_NEEDLES) == 7:
                    topic += " " + NEEDLE
                question = f"{rng.choice(sentences)} about {topic} number {i}?"
                if i % 3 == 0:
                    messages = [
                        {"role": "system", "content": "You are a careful assistant."},
                        {"role": "user", "content": rng.choice(sentences)},
                        {"role": "assistant", "content": rng.choice(answers)},
                        {"role": "user", "content": question},
                    ]
                else:
                    messages = [{"role": "user", "content": question}]
                tags = orjson.dumps(rng.sample(TAGS, 2) if i % 3 == 1 else []).decode()
                track = TRACKS[i % 10]
                pc.add(f"{pid}\t{at}\t{at}\t{pid_s}\tp{i}\t{orjson.dumps(messages).decode()}\t{question}\t{tags}\t"
                       f"{track}\t{{}}\t{i:064x}")  # fmt: skip
                items.append((wid, "demonstration", pid, None, at))
                wid += 1
                if has_cmp[i]:
                    cids = [cid, cid + 1]
                    for j, c in enumerate(cids):
                        model = ("llama-3-8b", "qwen2-7b")[j]
                        prov = f'{{"source":"generated","model_requested":"{model}","sample_index":{j}}}'
                        cc.add(f"{c}\t{at}\t{at}\t{pid}\t{rng.choice(answers)}\tgenerated\t{model}\t{prov}\tstop\t")
                    cid += 2
                    items.append((wid, "comparison", pid, cids, at))
                    wid += 1
        with wc:
            plan = []  # (item, labels) for the items that get labels
            for item_id, kind, pid, cids, at in items:
                overlap = DEMO_OVERLAP if kind == "demonstration" else COMPARISON_OVERLAP
                if remaining > band_labels:
                    n = overlap
                elif remaining > 0:
                    n = rng.randint(0, overlap - 1) if overlap > 1 else rng.randint(0, 1)
                else:
                    n = 0
                n = min(n, remaining)
                remaining -= n
                adjudicate = n == overlap and kind == "comparison" and rng.random() < ADJUDICATION_SHARE
                gold = remaining == 0 and n == 0 and kind == "comparison" and len(gold_items) < N_GOLD
                counts["items_full" if n == overlap else "items_partial" if n else "items_open"] += 1
                counts["adjudication"] += adjudicate
                if gold:  # as quality.services.gold_set leaves it: overlap GOLD_OVERLAP
                    gold_items.append((item_id, cids))
                    users = lab_ids[:GOLD_LABELERS]
                    overlap, n = GOLD_OVERLAP, len(users)
                else:
                    first = item_id * 7919 % n_lab
                    users = [lab_ids[(first + k) % n_lab] for k in range(n)]
                cand = orjson.dumps(cids or []).decode()
                wc.add(f"{item_id}\t{at}\t{at}\t{pid_s}\t{pid}\t{kind}\t{cand}\t{overlap}\t{n}\t{n}\t"
                       f"{'t' if gold else 'f'}\t{'t' if adjudicate else 'f'}")  # fmt: skip
                if n:
                    plan.append((item_id, kind, cids, at, users))
        items.clear()
        aid, lid = a0, l0
        with ac:
            for item_id, _kind, cids, at, users in plan:
                order = orjson.dumps(cids or []).decode()
                for user in users:
                    ac.add(f"{aid}\t{at}\t{at}\t{item_id}\t{user}\tsubmitted\t{at}\t{at}\t{order}\t{vid}\t\t{at}")
                    aid += 1
        aid = a0
        with lc:
            for item_id, kind, cids, at, users in plan:
                for user in users:
                    review = "accepted" if rng.random() < 0.7 else "pending"
                    if kind == "demonstration":
                        counts["demo_labels"] += 1
                        lc.add(f"{lid}\t{at}\t{at}\t{aid}\t{item_id}\t{pid_s}\t{user}\tdemonstration\t{vid}\t"
                               f"{rng.randint(20_000, 300_000)}\t[]\t{rng.choice(answers)}\t\t\t{{}}\tf\t{{}}\t{{}}\t\t"
                               f"{{}}\t\t{review}\t\tf")  # fmt: skip
                    else:
                        a, b = cids if rng.random() < 0.5 else cids[::-1]
                        ranks = f'{{"{a}": 1, "{b}": 2}}'
                        ratings = f'{{"{a}": {rating}, "{b}": {rating}}}'
                        lc.add(f"{lid}\t{at}\t{at}\t{aid}\t{item_id}\t{pid_s}\t{user}\tcomparison\t{vid}\t"
                               f"{rng.randint(20_000, 300_000)}\t[{a}, {b}]\t\t\t\t{ranks}\tf\t{ratings}\t{{}}\t"
                               f"better\t{{}}\t\t{review}\t\tf")  # fmt: skip
                    aid += 1
                    lid += 1
        cur.execute("SET session_replication_role = DEFAULT")
    GoldStandard.objects.bulk_create(
        [GoldStandard(work_item_id=w, project=project, pairs=[[c[0], c[1]]], created_by=admin) for w, c in gold_items]
    )
    seconds = time.perf_counter() - t0
    labels = lid - l0
    print(
        f"seeded {name} (project {project.pk}): {n_prompts:,} prompts, {2 * n_cmp:,} candidates, {n_items:,} work "
        f"items ({counts['items_full']:,} full, {counts['items_partial']:,} partly labeled, {counts['items_open']:,} "
        f"open; {counts['adjudication']:,} disputed, {len(gold_items):,} gold), {labels:,} labels "
        f"({counts['demo_labels']:,} demonstrations) in {seconds:.1f}s",
        flush=True,
    )
    return {
        "project": project,
        "prompts": n_prompts,
        "labels": labels,
        "mid_prompt": p0 + n_prompts // 2,
        "seconds": seconds,
    }


def existing(prefix: str) -> dict:
    """The newest project named prefix…, as seed_project describes it."""
    project = Project.objects.filter(name__startswith=prefix).order_by("-id").first()
    if project is None:
        sys.exit(f"--reuse: no project named {prefix}… in this database")
    ids = Prompt.objects.filter(project=project).order_by("id").values_list("id", flat=True)
    first, n = ids.first(), Prompt.objects.filter(project=project).count()
    return {
        "project": project,
        "prompts": n,
        "labels": Label.objects.filter(project=project).count(),
        "mid_prompt": first + n // 2,
        "seconds": 0.0,
    }


# --- measuring ---------------------------------------------------------------------------------------


def pages(info: dict) -> list[tuple[str, str, str, dict]]:
    """(name, who, url, headers) of the GET requests measured for one project."""
    p = info["project"].pk
    deep = base64.b64encode(urlencode({"p": str(info["mid_prompt"])}).encode()).decode()
    return [
        ("labeler: workbench", "labeler", f"/projects/{p}/label/", {}),
        ("labeler: progress (htmx)", "labeler", f"/projects/{p}/label/progress/", {"HTTP_HX_REQUEST": "true"}),
        ("admin: overview", "admin", f"/projects/{p}/", {}),
        ("admin: review queue", "admin", f"/projects/{p}/label/review/", {}),
        ("admin: adjudication queue", "admin", f"/projects/{p}/quality/adjudication/", {}),
        ("prompts page: first", "admin", f"/projects/{p}/prompts/", {}),
        ("prompts page: deep (before=)", "admin", f"/projects/{p}/prompts/?before={info['mid_prompt']}", {}),
        ("prompts page: search 1 %", "admin", f"/projects/{p}/prompts/?q={COMMON}", {}),
        ("prompts page: search 20 rows", "admin", f"/projects/{p}/prompts/?q={NEEDLE}", {}),
        ("prompts page: track", "admin", f"/projects/{p}/prompts/?track=red-team", {}),
        ("prompts API: first", "api", f"/api/v1/projects/{p}/prompts", {}),
        ("prompts API: deep cursor", "api", f"/api/v1/projects/{p}/prompts?cursor={deep}", {}),
        ("prompts API: search 1 %", "api", f"/api/v1/projects/{p}/prompts?q={COMMON}", {}),
        ("prompts API: search 20 rows", "api", f"/api/v1/projects/{p}/prompts?q={NEEDLE}", {}),
        ("prompts API: tag", "api", f"/api/v1/projects/{p}/prompts?tag=code", {}),
    ]


def timed(fn) -> tuple[float, list[dict], object]:
    connection.queries_log.clear()  # a full log (9,000 queries) would make CaptureQueriesContext see none
    with CaptureQueriesContext(connection) as ctx:
        t = time.perf_counter()
        response = fn()
        seconds = time.perf_counter() - t
    return seconds, list(ctx.captured_queries), response


def submit_body(task: dict, rng: random.Random) -> tuple[str, dict]:
    item = task["id"]
    if task["kind"] == "demonstration":
        return f"/api/v1/work-items/{item}/demonstration", {"content": f"An ideal answer #{rng.randint(1, 10**9)}"}
    ids = [str(c["id"]) for c in task["candidates"]]
    rng.shuffle(ids)
    body = {
        "ranks": {cid: i + 1 for i, cid in enumerate(ids)},
        "ratings": {cid: {a: rng.randint(1, 7) for a in ("helpful", "truthful", "harmless")} for cid in ids},
    }
    if len(ids) == 2:
        body["strength"] = "better"
    if task["needs_safety"]:
        body["safety"] = {cid: "safe" for cid in ids}
    return f"/api/v1/work-items/{item}/ranking", body


def explain(sql: str) -> str:
    if not sql.lstrip().upper().startswith("SELECT"):
        return "(not a SELECT)"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=1_000_000, help="prompts of the big project")
    parser.add_argument("--labels", type=int, default=3_000_000, help="labels of the big project")
    parser.add_argument("--small-prompts", type=int, default=10_000, help="prompts of the small project")
    parser.add_argument("--labelers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=40, help="measurement rounds (after one warm-up round)")
    parser.add_argument("--claimers", type=int, default=4, help="labelers claiming and submitting each round")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest query of pages over target")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the projects a previous run seeded in this database (after a fix)"
    )
    args = parser.parse_args()
    logging.getLogger("axes").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    topics = topic_words(rng)
    people = setup_people(args.labelers)
    if args.reuse:
        big, small = existing("scale-big-"), existing("scale-small-")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            db_size = cursor.fetchone()[0]
        seed_s = 0.0
        print(f"reusing projects {big['project'].pk} and {small['project'].pk}; database {db_size}", flush=True)
    else:
        stamp = int(time.time())
        t0 = time.perf_counter()
        small_labels = round(args.labels * args.small_prompts / args.prompts)
        with transaction.atomic():
            dropped = indexes_drop()
            big = seed_project(f"scale-big-{stamp}", args.prompts, args.labels, people, random.Random(1), topics)
            small = seed_project(
                f"scale-small-{stamp}", args.small_prompts, small_labels, people, random.Random(1), topics
            )
            t1 = time.perf_counter()
            indexes_create(dropped)
        t2 = time.perf_counter()
        print(f"{len(dropped)} indexes rebuilt in {t2 - t1:.0f}s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would (visibility map, statistics)
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            db_size = cursor.fetchone()[0]
        seed_s = time.perf_counter() - t0
        print(f"seed: {seed_s:.0f}s (COPY {t1 - t0:.0f}s, indexes {t2 - t1:.0f}s, VACUUM ANALYZE "
              f"{time.perf_counter() - t2:.0f}s); database {db_size}", flush=True)  # fmt: skip

    token = api_token_create(user=people["admin"], name="scale")[1]
    clients = {"admin": Client(HTTP_HOST=HOST), "labeler": Client(HTTP_HOST=HOST), "api": Client(HTTP_HOST=HOST)}
    clients["admin"].force_login(people["admin"])
    clients["labeler"].force_login(people["labelers"][-1])
    api_headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    claimers = []
    for user in people["labelers"][: args.claimers]:
        claimers.append(api_token_create(user=user, name="scale")[1])
    infos = {"big": big, "small": small}
    times: dict[tuple[str, str], list[float]] = {}
    queries: dict[tuple[str, str], list[int]] = {}
    slowest: dict[tuple[str, str], tuple[float, str]] = {}

    def record(name: str, which: str, seconds: float, captured: list[dict], warm: bool) -> None:
        if warm:
            return
        times.setdefault((name, which), []).append(seconds)
        queries.setdefault((name, which), []).append(len(captured))
        if captured:
            worst = max(captured, key=lambda q: float(q["time"]))
            if float(worst["time"]) > slowest.get((name, which), (0.0, ""))[0]:
                slowest[(name, which)] = (float(worst["time"]), worst["sql"])

    for rnd in range(args.rounds + 1):
        warm = rnd == 0
        order = ["small", "big"] if rnd % 2 else ["big", "small"]
        for which in order:
            info = infos[which]
            for name, who, url, headers in pages(info):
                extra = {**headers, **(api_headers if who == "api" else {})}
                client = clients[who]
                seconds, captured, response = timed(lambda c=client, u=url, e=extra: c.get(u, **e))
                assert response.status_code == 200, (name, url, response.status_code, response.content[:300])
                record(name, which, seconds, captured, warm)
            # Next task: claim + submit by several labelers, the same random sequence in both projects
            # (a claim tries the gold queue first at the project's gold rate).
            for j, key in enumerate(claimers):
                random.seed(rnd * 100 + j)
                body_rng = random.Random(rnd * 100 + j)
                c = clients["api"]
                kind = ("demonstration", "comparison")[(rnd + j) % 2]
                auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
                seconds, captured, response = timed(
                    lambda c=c, kind=kind, auth=auth, p=info["project"].pk: c.post(
                        f"/api/v1/projects/{p}/work/next", {"kind": kind}, content_type="application/json", **auth
                    )
                )
                assert response.status_code == 200, ("work/next", response.status_code, response.content[:300])
                record(f"next-task: work/next ({kind[:4]})", which, seconds, captured, warm)
                url, body = submit_body(response.json(), body_rng)
                seconds, captured, response = timed(
                    lambda c=c, url=url, body=body, auth=auth: c.post(
                        url, body, content_type="application/json", **auth
                    )
                )
                assert response.status_code == 201, ("submit", response.status_code, response.content[:300])
                record(f"next-task: submit ({kind[:4]})", which, seconds, captured, warm)

    names = list(dict.fromkeys(name for name, _ in times))
    print()
    print(f"{'request':34} {'small p50':>9} {'p95':>7} {'big p50':>9} {'p95':>7} {'ratio p50':>9} {'p95':>6} "
          f"{'queries small / big (mode, range)':>34}")  # fmt: skip
    worst = 0.0
    equal = True
    over = []
    for name in names:
        s, b = times[(name, "small")], times[(name, "big")]

        def p(values, q):
            return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000

        r50, r95 = p(b, 50) / p(s, 50), p(b, 95) / p(s, 95)
        worst = max(worst, r95)
        # The most frequent count (a request may differ by the state of the item it got, or a token's
        # last-used stamp: not by the size of the project), then the range.
        qs, qb = queries[(name, "small")], queries[(name, "big")]
        ms, mb = statistics.mode(qs), statistics.mode(qb)
        same = ms == mb
        equal &= same

        def rng_(v):
            return f"{min(v)}-{max(v)}" if min(v) != max(v) else str(min(v))

        fmt_q = f"{ms} ({rng_(qs)}) / {mb} ({rng_(qb)}){'' if same else ' !'}"
        flag = " *" if r95 > 1.5 or r50 > 1.5 else ""
        print(f"{name:34} {p(s, 50):7.1f}ms {p(s, 95):5.1f}ms {p(b, 50):7.1f}ms {p(b, 95):5.1f}ms "
              f"{r50:9.2f} {r95:6.2f} {fmt_q:>34}{flag}")  # fmt: skip
        if flag:
            over.append(name)
    print(f"(n={args.rounds} rounds, {args.claimers} claimers; big: {big['prompts']:,} prompts, {big['labels']:,} "
          f"labels; small: {small['prompts']:,} prompts, {small['labels']:,} labels; * over 1.5)")  # fmt: skip
    for name in over if args.explain else []:
        seconds, sql = slowest[(name, "big")]
        print(f"\n--- {name}: slowest query on the big project ({seconds * 1000:.1f} ms)\n{sql[:2000]}")
        print(explain(sql))
    print(f"RESULT worst_p95_ratio={worst:.2f} query_counts_equal={'yes' if equal else 'no'} seed_s={seed_s:.0f} "
          f"db={db_size.replace(' ', '')}")  # fmt: skip


if __name__ == "__main__":
    main()
