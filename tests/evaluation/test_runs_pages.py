"""The evaluation run pages: start a run from a set, the run page with live progress, cancel /
resume; roles, 404s across projects, statements constant in the run's size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labelhub.evaluation.models import EvaluationRun, RunStatus
from labelhub.evaluation.services import runs
from labelhub.projects import services as project_services
from labelhub.projects.models import Role

from .runs_world import make_set, small_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, members, fake_server, sent):
    return small_world(project, fake_server.base_url)


def _create_url(project, s):
    return reverse("projects:evaluation:run-create", args=[project.pk, s.pk])


def test_start_a_run_from_the_form(client_for, members, world, project):
    client = client_for(members[Role.ENGINEER])
    page = client.get(_create_url(project, world["set"]))
    assert page.status_code == 200 and b"Start the run" in page.content
    bad = client.post(
        _create_url(project, world["set"]),
        {"model_config": world["test"].pk, "baseline_kind": "config", "baseline_config": world["test"].pk,
         "labels_per_pair": 2},
    )  # fmt: skip
    assert bad.status_code == 400 and b"another model config" in bad.content
    missing = client.post(
        _create_url(project, world["set"]), {"model_config": world["test"].pk, "baseline_kind": "config"}
    )
    assert missing.status_code == 400 and b"Choose the baseline model config" in missing.content
    assert not EvaluationRun.objects.exists()
    ok = client.post(
        _create_url(project, world["set"]),
        {"model_config": world["test"].pk, "baseline_kind": "config", "baseline_config": world["base"].pk,
         "labels_per_pair": 2, "min_win_rate": "0.45"},
    )  # fmt: skip
    run = EvaluationRun.objects.get()
    assert ok.status_code == 302 and ok["Location"] == reverse("projects:evaluation:run", args=[project.pk, run.pk])
    assert run.labels_per_pair == 2 and run.thresholds == {"min_win_rate": 0.45}
    history = client.get(reverse("projects:evaluation:set", args=[project.pk, world["set"].pk]))
    assert reverse("projects:evaluation:run", args=[project.pk, run.pk]).encode() in history.content


def test_run_page_progress_partial_cancel_resume(client_for, members, world, project, staff):
    run = runs.evaluation_run_create(
        evaluation_set=world["set"], user=staff, model_config=world["test"], baseline_kind="reference"
    )
    client = client_for(members[Role.ADMIN])
    url = reverse("projects:evaluation:run", args=[project.pk, run.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b'id="run-progress"' in page.content and b"every 2s" in page.content and b"Cancel the run" in page.content
    partial = client.get(url + "?poll=1", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and partial.content.lstrip().startswith(b'<section id="run-progress"')
    assert "HX-Refresh" not in partial
    assert client.post(reverse("projects:evaluation:run-cancel", args=[project.pk, run.pk])).status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    page = client.get(url)
    assert b"Resume the run" in page.content and b"every 2s" not in page.content
    client.post(reverse("projects:evaluation:run-resume", args=[project.pk, run.pk]))
    run.refresh_from_db()
    assert run.status == RunStatus.GENERATING
    EvaluationRun.objects.filter(pk=run.pk).update(status=RunStatus.FINISHED, report={"overall": {"n_pairs": 3}})
    assert client.get(url + "?poll=1", HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"
    response = client.post(reverse("projects:evaluation:run-cancel", args=[project.pk, run.pk]), follow=True)
    assert b"finished" in response.content
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED


def test_roles_and_other_projects(client_for, members, world, project, staff, make_project):
    run = runs.evaluation_run_create(
        evaluation_set=world["set"], user=staff, model_config=world["test"], baseline_kind="reference"
    )
    gets = [_create_url(project, world["set"]), reverse("projects:evaluation:run", args=[project.pk, run.pk])]
    posts = [reverse(f"projects:evaluation:run-{a}", args=[project.pk, run.pk]) for a in ("cancel", "resume")]
    for who in (Role.ADMIN, Role.ENGINEER):
        for url in gets:
            assert client_for(members[who]).get(url).status_code == 200, (who, url)
    for url in gets + posts:
        response = client_for(None).get(url) if url in gets else client_for(None).post(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    for who, code in {Role.LABELER: 403, Role.REVIEWER: 403, "outsider": 404}.items():
        client = client_for(members[who])
        for url in gets:
            assert client.get(url).status_code == code, (who, url)
        for url in posts:
            assert client.post(url).status_code == code, (who, url)
    # Another project's admin, through their own project's URL: 404 for this project's set and run.
    other = make_project("Other")
    project_services.membership_add(project=other, username=members["outsider"].username, role=Role.ADMIN)
    client = client_for(members["outsider"])
    for url in gets + posts:
        foreign = url.replace(f"/projects/{project.pk}/", f"/projects/{other.pk}/")
        assert (client.get(foreign) if url in gets else client.post(foreign)).status_code == 404, foreign
    run.refresh_from_db()
    assert run.status == RunStatus.GENERATING


def _page_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_run_page_statements_do_not_grow_with_the_run(client_for, members, world, project, staff):
    client = client_for(members[Role.ENGINEER])
    urls = []
    for n, name in ((3, "small"), (15, "big")):
        s = make_set(project, n, name=name, start=100 * n)
        run = runs.evaluation_run_create(
            evaluation_set=s, user=staff, model_config=world["test"], baseline_kind="reference"
        )
        runs.evaluation_run_advance(run_id=run.pk)
        urls.append(reverse("projects:evaluation:run", args=[project.pk, run.pk]))
    _page_queries(client, urls[0])  # warm the session
    assert _page_queries(client, urls[0]) == _page_queries(client, urls[1])
    assert _page_queries(client, urls[0] + "?poll=1") == _page_queries(client, urls[1] + "?poll=1")


def test_start_page_statements_do_not_grow_with_the_run_history(client_for, members, world, project, staff):
    client = client_for(members[Role.ENGINEER])
    url = _create_url(project, world["set"])
    start = {"evaluation_set": world["set"], "user": staff, "model_config": world["test"], "baseline_kind": "reference"}
    runs.evaluation_run_create(**start)
    _page_queries(client, url)
    one = _page_queries(client, url)
    for _ in range(4):
        runs.evaluation_run_create(**start)
    assert _page_queries(client, url) == one
