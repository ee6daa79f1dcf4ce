"""The pages and endpoints that `make bench-scale` measures on a 1M-prompt project run the same number
of queries with 6 prompts as with 60 (and no COUNT over the whole project: every count is bounded by
a LIMIT). bench/bench_scale.py measures the time; these tests pin the query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labelhub.core.pagination import BoundedCount, bounded_count
from labelhub.labeling.models import Label, WorkItem
from labelhub.projects import services as project_services
from labelhub.projects.models import Project, Role
from tests.exports import builders
from tests.factories import UserFactory
from tests.workbench_helpers import configure, make_prompt, ready

pytestmark = pytest.mark.django_db

AXES = ("helpful", "truthful", "harmless")


@pytest.fixture
def world(project, members, staff, publish):
    """A project with one label per item (overlap 1), no gold; `grow(n)` adds n prompts with two
    candidates each, labels all but the newest 2 items of each kind (by labelers other than the one
    who claims),
    and marks one labeled comparison item in five as disputed."""
    project = configure(project, overlap=1)
    Project.objects.filter(pk=project.pk).update(gold_rate=0)
    project.refresh_from_db()
    claimer = members[Role.LABELER]
    others = [UserFactory(username=f"other-{i}") for i in range(3)]
    for user in others:
        project_services.membership_add(project=project, username=user.username, role=Role.LABELER)
    version = ready(project, claimer, publish, staff)
    project_services.guideline_acknowledge(project=project, user=members[Role.ADMIN], number=version.number)
    state = {"n": 0}

    def grow(n: int) -> None:
        for i in range(state["n"], state["n"] + n):
            make_prompt(project, f"Question number {i} about llamas?", [f"Answer A{i}", f"Answer B{i}"])
        state["n"] += n
        ready(project, claimer, publish, staff)
        fresh = WorkItem.objects.filter(project=project, label_count=0).order_by("id")
        keep_open = [*fresh.filter(kind="demonstration")[n - 2 :], *fresh.filter(kind="comparison")[n - 2 :]]
        items = [item for item in fresh if item not in keep_open]  # the newest 2 of each kind stay open
        comparisons = 0
        for j, item in enumerate(items):
            ranks = {str(c): r + 1 for r, c in enumerate(item.candidate_ids)} if item.kind == "comparison" else {}
            fields = {"ranks": ranks} if ranks else {"content": f"An ideal answer {j}."}
            builders.label(item, others[j % len(others)], version, **fields)
            if item.kind == "comparison":
                if comparisons % 5 == 0:
                    WorkItem.objects.filter(pk=item.pk).update(needs_adjudication=True)
                comparisons += 1

    return {"project": project, "claimer": claimer, "admin": members[Role.ADMIN], "grow": grow, "version": version}


def _queries(fn) -> list[dict]:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return ctx.captured_queries


BIG_TABLES = ("prompts_prompt", "prompts_candidate", "labeling_workitem", "labeling_assignment", "labeling_label")


def _no_unbounded_count(queries: list[dict]) -> None:
    """A COUNT over the tables that grow to millions of rows is bounded (a LIMIT in its subquery),
    unless it counts one labeler's rows of the last 24 hours (an index range)."""
    for q in queries:
        sql = q["sql"]
        if "COUNT(" in sql.upper() and any(f'FROM "{t}"' in sql for t in BIG_TABLES):
            assert "LIMIT" in sql or ('"user_id" =' in sql and '"created_at" >=' in sql), sql


def test_pages_run_the_same_queries_with_6_or_60_prompts(world, client_for):
    project, p = world["project"], world["project"].pk
    labeler, admin = client_for(world["claimer"]), client_for(world["admin"])
    htmx = {"HX-Request": "true"}
    pages = {
        "workbench": (labeler, reverse("projects:labeling:workbench", args=[p]), {}),
        "progress": (labeler, reverse("projects:labeling:progress", args=[p]), htmx),
        "overview": (admin, reverse("projects:detail", args=[p]), {}),
        "review queue": (admin, reverse("projects:labeling:review", args=[p]), {}),
        "review queue filtered": (
            admin,
            reverse("projects:labeling:review", args=[p]) + "?kind=comparison&track=helpful&labeler=other-1&version=1",
            {},
        ),
        "review queue flagged": (admin, reverse("projects:labeling:review", args=[p]) + "?flag=~unsafe", {}),
        "adjudication queue": (admin, reverse("projects:quality:adjudication", args=[p]), {}),
        "prompts": (admin, reverse("projects:prompts:list", args=[p]), {}),
        "prompts search": (admin, reverse("projects:prompts:list", args=[p]) + "?q=llamas", {}),
        "prompts track": (admin, reverse("projects:prompts:list", args=[p]) + "?track=helpful", {}),
    }

    def counts(deep_before: int) -> dict[str, int]:
        out = {}
        for name, (client, url, headers) in pages.items():
            queries = _queries(lambda c=client, u=url, h=headers: _ok(c.get(u, headers=h)))
            _no_unbounded_count(queries)
            out[name] = len(queries)
        queries = _queries(lambda: _ok(admin.get(pages["prompts"][1], {"before": deep_before})))
        out["prompts deep"] = len(queries)
        # A later page of the review queue (the "previous page" probe included), from the comparisons on.
        second = Label.objects.filter(project=project, kind="comparison").order_by("id").values_list("id", flat=True)[0]
        queries = _queries(lambda: _ok(admin.get(pages["review queue"][1], {"after": second})))
        _no_unbounded_count(queries)
        out["review queue page 2"] = len(queries)
        return out

    world["grow"](6)
    few = counts(project.prompts.order_by("-id").values_list("pk", flat=True)[1])
    world["grow"](54)
    many = counts(project.prompts.order_by("-id").values_list("pk", flat=True)[10])
    assert many == few
    # With 60 prompts the review queue shows full pages (20 labels), filtered or not.
    for name in ("review queue", "review queue filtered"):
        html = admin.get(pages[name][1]).content.decode()
        assert html.count("data-review-card") >= (20 if name == "review queue" else 1), name


def _ok(response):
    assert response.status_code == 200, response.content[:300]
    return response


def test_prompts_api_runs_the_same_queries_with_6_or_60_prompts(world, api):
    project = world["project"]
    client = api(world["admin"])
    base = f"/api/v1/projects/{project.pk}/prompts"

    def counts() -> list[int]:
        out = []
        for query in ("", "?q=llamas", "?track=helpful", "?page_size=2"):
            out.append(len(_queries(lambda q=query: _ok(client.get(base + q)))))
        nxt = client.get(base + "?page_size=2").json()["next"]
        out.append(len(_queries(lambda: _ok(client.get(nxt)))))  # a later page, by its cursor
        return out

    world["grow"](6)
    client.get(base)  # the token's first use stamps it (one UPDATE)
    few = counts()
    world["grow"](54)
    assert counts() == few


def test_next_task_and_submit_run_the_same_queries_with_6_or_60_prompts(world, api):
    project = world["project"]
    client = api(world["claimer"])
    next_url = f"/api/v1/projects/{project.pk}/work/next"

    def claim_and_submit(kind: str) -> tuple[int, int]:
        holder = {}

        def claim():
            holder["task"] = _ok(client.post(next_url, {"kind": kind}, format="json")).json()

        claim_queries = _queries(claim)
        task = holder["task"]
        assert task["kind"] == kind
        if kind == "demonstration":
            url, body = f"/api/v1/work-items/{task['id']}/demonstration", {"content": "An ideal answer."}
        else:
            ids = [str(c["id"]) for c in task["candidates"]]
            body = {
                "ranks": {cid: i + 1 for i, cid in enumerate(ids)},
                "ratings": {cid: dict.fromkeys(AXES, 5) for cid in ids},
                "strength": "better",
            }
            url = f"/api/v1/work-items/{task['id']}/ranking"
        submit_queries = _queries(lambda: _assert_created(client.post(url, body, format="json")))
        return len(claim_queries), len(submit_queries)

    world["grow"](6)
    _ok(client.get("/api/v1/me"))  # the token's first use stamps it (one UPDATE)
    few = [claim_and_submit("demonstration"), claim_and_submit("comparison")]
    world["grow"](54)
    many = [claim_and_submit("demonstration"), claim_and_submit("comparison")]
    assert many == few


def _assert_created(response):
    assert response.status_code == 201, response.content[:300]
    return response


def test_a_bounded_count_stops_at_its_cap_and_says_so(world, client_for):
    world["grow"](6)
    project = world["project"]
    capped = bounded_count(project.prompts.all(), cap=2)
    assert str(capped) == "2+" and capped.more and capped == 3 and capped > 2 and int(capped) == 3
    exact = bounded_count(project.prompts.all(), cap=6)
    assert str(exact) == "6" and not exact.more and exact == 6
    assert str(BoundedCount(12_345, 10_000)) == "10,000+"
    assert f"{BoundedCount(0, 10)}" == "0" and not BoundedCount(0, 10)
    # On a page, as a number: the labeler's "items left to label" (the newest 2 prompts' 4 items).
    html = client_for(world["claimer"]).get(reverse("projects:labeling:workbench", args=[project.pk])).content.decode()
    assert "<strong>4</strong> items left to label" in html
