"""The evaluation runs API: start, read (progress + report), cancel / resume; roles, 404s across
projects, 400s naming fields, 409 on a finished run, statements constant in the run's size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labelhub.evaluation.models import EvaluationRun, RunStatus
from labelhub.evaluation.services import runs
from labelhub.projects.models import Role

from .runs_world import make_config, make_set, small_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, members, fake_server, sent):
    return small_world(project, fake_server.base_url)


def _body(world, **kw):
    return {"model_config": world["test"].pk, "baseline_kind": "config", "baseline_config": world["base"].pk, **kw}


def test_start_read_cancel_resume(api, members, world, staff):
    client = api(members[Role.ENGINEER])
    url = f"/api/v1/evaluation-sets/{world['set'].pk}/runs"
    created = client.post(url, _body(world, labels_per_pair=2, thresholds={"min_win_rate": 0.4}), format="json")
    assert created.status_code == 201, created.content
    run = created.json()
    assert run["number"] == 1 and run["status"] == "generating" and run["labels_per_pair"] == 2
    assert run["progress"]["pairs"] == 3 and run["progress"]["labels_needed"] == 6
    assert run["thresholds"] == {"min_win_rate": 0.4} and run["sampling"]["test"]["model"] == "test"
    assert "overall" in run["report"]
    listed = client.get(url).json()["results"]
    assert [r["id"] for r in listed] == [run["id"]]
    detail = client.get(f"/api/v1/evaluation-runs/{run['id']}")
    assert detail.status_code == 200 and detail.json()["id"] == run["id"]
    cancelled = client.post(f"/api/v1/evaluation-runs/{run['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/evaluation-runs/{run['id']}/cancel").status_code == 409
    resumed = client.post(f"/api/v1/evaluation-runs/{run['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "generating"
    assert client.post(f"/api/v1/evaluation-runs/{run['id']}/resume").status_code == 409
    EvaluationRun.objects.filter(pk=run["id"]).update(status=RunStatus.FINISHED, report={"overall": {}})
    for action in ("cancel", "resume"):
        assert client.post(f"/api/v1/evaluation-runs/{run['id']}/{action}").status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model_config": "x"}, "model_config"),
        ({"model_config": 10**6}, "model_config"),
        ({"baseline_kind": "other"}, "baseline_kind"),
        ({"baseline_config": None}, "baseline_config"),
        ({"labels_per_pair": 0}, "labels_per_pair"),
        ({"labels_per_pair": 10}, "labels_per_pair"),
        ({"thresholds": {"min_win_rate": 3}}, "thresholds"),
        ({"thresholds": {"nope": 1}}, "thresholds"),
        ({"baseline_kind": "run", "baseline_run": 10**6}, "baseline_run"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, members, world, change, field):
    response = api(members[Role.ADMIN]).post(
        f"/api/v1/evaluation-sets/{world['set'].pk}/runs", _body(world, **change), format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert not EvaluationRun.objects.exists()


def test_unknown_keys_are_a_400(api, members, world):
    response = api(members[Role.ADMIN]).post(
        f"/api/v1/evaluation-sets/{world['set'].pk}/runs", _body(world, colour="red"), format="json"
    )
    assert response.status_code == 400 and "colour" in response.content.decode()


def test_roles_and_other_projects(api, members, world, staff, make_project, fake_server):
    run = runs.evaluation_run_create(
        evaluation_set=world["set"], user=staff, model_config=world["test"], baseline_kind="reference"
    )
    routes = [
        ("get", f"/api/v1/evaluation-sets/{world['set'].pk}/runs"),
        ("get", f"/api/v1/evaluation-runs/{run.pk}"),
        ("post", f"/api/v1/evaluation-runs/{run.pk}/cancel"),
        ("post", f"/api/v1/evaluation-runs/{run.pk}/resume"),
    ]
    for who in (Role.ADMIN, Role.ENGINEER):
        for method, url in routes[:2]:
            assert getattr(api(members[who]), method)(url, format="json").status_code == 200, (who, url)
    expected = {Role.LABELER: 403, Role.REVIEWER: 403, "outsider": 404}
    for who, code in expected.items():
        for method, url in routes:
            assert getattr(api(members[who]), method)(url, format="json").status_code == code, (who, url)
    for method, url in routes:
        assert getattr(api(None), method)(url, format="json").status_code in (401, 403)
    # An admin of another project: 404 for this project's set and run, and ids of another project's
    # configs are not found in this one.
    other = make_project("Other")
    foreign = make_config(other, fake_server.base_url, "foreign")
    for method, url in routes:
        assert getattr(api(staff), method)(url, format="json").status_code != 404
    stranger_admin = members["outsider"]
    from labelhub.projects import services as project_services

    project_services.membership_add(project=other, username=stranger_admin.username, role=Role.ADMIN)
    for method, url in routes:
        assert getattr(api(stranger_admin), method)(url, format="json").status_code == 404
    bad = api(members[Role.ADMIN]).post(
        f"/api/v1/evaluation-sets/{world['set'].pk}/runs", _body(world, model_config=foreign.pk), format="json"
    )
    assert bad.status_code == 400 and "model_config" in bad.content.decode()


def _detail_queries(client, run_id):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"/api/v1/evaluation-runs/{run_id}").status_code == 200
    return len(ctx.captured_queries)


def test_detail_statements_do_not_grow_with_the_run(api, members, world, staff, project):
    client = api(members[Role.ENGINEER])
    small = runs.evaluation_run_create(
        evaluation_set=world["set"], user=staff, model_config=world["test"], baseline_kind="reference"
    )
    big_set = make_set(project, 15, name="big", start=100)
    big = runs.evaluation_run_create(
        evaluation_set=big_set, user=staff, model_config=world["test"], baseline_kind="reference"
    )
    for run in (small, big):
        runs.evaluation_run_advance(run_id=run.pk)
    _detail_queries(client, small.pk)  # warm: the token's first use is recorded once
    assert _detail_queries(client, small.pk) == _detail_queries(client, big.pk)
