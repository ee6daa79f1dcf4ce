"""The triage API: a run's items (paged, filtered) and a decision on one item; errors name fields,
404 across projects, 403 without TRIAGE, 409 on an unfinished run."""

import pytest

from labelhub.evaluation.models import RunStatus, TriageItem
from labelhub.evaluation.services.triage import triage_items_create
from labelhub.labeling.models import WorkItem
from labelhub.projects.models import Role

from ..factories import UserFactory
from ..workbench_helpers import make_prompt
from . import triage_builders as tb

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, members, publish, staff):
    version = publish(project, staff, "# Guidelines")
    prompts = [make_prompt(project, f"Question {i}", track="helpful" if i % 2 else "harmless") for i in range(6)]
    es = tb.evaluation_set(project, prompts)
    run = tb.run(es)
    for i, prompt in enumerate(prompts):
        p = tb.pair(run, prompt)
        tb.judge(p, UserFactory(), version, result="loss", flags=["verbose"] if i < 2 else (), unsafe=i == 5)
    triage_items_create(run=run)
    return {"project": project, "run": run, "items": list(TriageItem.objects.filter(run=run).order_by("id")), **members}


def _list(api, user, run, query=""):
    return api(user).get(f"/api/v1/evaluation-runs/{run.pk}/triage{query}")


def test_list_paged_and_filtered(world, api):
    user, run = world[Role.REVIEWER], world["run"]
    body = _list(api, user, run, "?page_size=4").json()
    assert body["count"] == 6 and len(body["results"]) == 4
    first = body["results"][0]
    assert set(first) >= {"id", "reasons", "flags", "track", "status", "fix_work_item_id", "candidate_id"}
    assert "model" not in repr(first)
    assert _list(api, user, run, "?flag=verbose").json()["count"] == 2
    assert _list(api, user, run, "?track=harmless").json()["count"] == 3
    assert _list(api, user, run, "?reason=unsafe").json()["count"] == 1
    assert _list(api, user, run, "?status=fix").json()["count"] == 0
    for bad in ("?status=bogus", "?reason=x", "?colour=red"):
        assert _list(api, user, run, bad).status_code == 400


def test_decide_fix_returns_the_work_item(world, api):
    item = world["items"][0]
    response = api(world[Role.REVIEWER]).post(
        f"/api/v1/triage-items/{item.pk}", {"status": "fix", "note": "x"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "fix" and body["note"] == "x"
    assert WorkItem.objects.get(pk=body["fix_work_item_id"]).purpose == "fix"


def test_decide_errors_name_fields(world, api):
    a, b = world["items"][:2]
    client = api(world[Role.ADMIN])
    url = f"/api/v1/triage-items/{b.pk}"
    for body, field in (
        ({"status": "maybe"}, "status"),
        ({}, "status"),
        ({"status": "duplicate"}, "duplicate_of"),
        ({"status": "duplicate", "duplicate_of": b.pk}, "duplicate_of"),
        ({"status": "duplicate", "duplicate_of": "١٢"}, "duplicate_of"),
        ({"status": "fix", "extra": 1}, "extra"),
    ):
        response = client.post(url, body, format="json")
        assert response.status_code == 400 and field in response.content.decode(), (body, response.content)
    ok = client.post(url, {"status": "duplicate", "duplicate_of": a.pk}, format="json")
    assert ok.json()["duplicate_of"] == a.pk


def test_unfinished_run_is_409(world, api):
    run = world["run"]
    run.status = RunStatus.LABELING
    run.save(update_fields=["status"])
    response = api(world[Role.REVIEWER]).post(
        f"/api/v1/triage-items/{world['items'][0].pk}", {"status": "fix"}, format="json"
    )
    assert response.status_code == 409


@pytest.mark.parametrize(("role", "code"), [(Role.ADMIN, 200), (Role.REVIEWER, 200), (Role.ENGINEER, 403),
                                            (Role.LABELER, 403), ("outsider", 404)])  # fmt: skip
def test_role_matrix(world, api, role, code):
    client = api(world[role])
    assert _list(api, world[role], world["run"]).status_code == code
    decided = client.post(f"/api/v1/triage-items/{world['items'][0].pk}", {"status": "wont_fix"}, format="json")
    assert decided.status_code == code


def test_list_queries_do_not_grow(world, api, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(world[Role.REVIEWER])
    with CaptureQueriesContext(connection) as small:
        client.get(f"/api/v1/evaluation-runs/{world['run'].pk}/triage?page_size=1")
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(f"/api/v1/evaluation-runs/{world['run'].pk}/triage?page_size=50")
