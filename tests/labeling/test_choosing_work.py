"""Choosing work: the kind and track a labeler asks for stick (WorkPreference), every claim honours
them, "anything" serves a mix of kinds, and a choice with nothing left says so."""

import json
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labelhub.core.exceptions import ApplicationError
from labelhub.labeling import selectors, services
from labelhub.labeling.models import AssignmentStatus, WorkItem, WorkKind, WorkPreference
from labelhub.projects.models import Role
from labelhub.projects.rubric import schema_of

pytestmark = pytest.mark.django_db


def _setup(project, make_prompts, sync, *, n=4, track="helpful", start=0):
    project.gold_rate = 0
    project.save()
    make_prompts(n, candidates=2, track=track, start=start)
    sync()


def _finish(user, assignment):
    """Done with the task (a skip frees it without needing answers)."""
    services.work_item_skip(assignment_id=assignment.pk, user=user, reason="done here")


def test_the_choice_is_stored_and_every_claim_honours_it(project, members, acked, make_prompts, sync):
    _setup(project, make_prompts, sync)
    labeler = acked(members[Role.LABELER])
    services.work_preference_set(project=project, user=labeler, kind="comparison", track="")
    assert WorkPreference.objects.get(project=project, user=labeler).kind == "comparison"
    kinds = []
    while (task := services.work_item_claim_next(project=project, user=labeler)) is not None:
        kinds.append(task.work_item.kind)
        _finish(labeler, task)
    # Demonstrations were built first (lower ids) but only comparisons were asked for.
    assert kinds == ["comparison"] * 4
    assert WorkItem.objects.filter(kind="demonstration", taken=0).count() == 4
    # Changing the choice back to anything serves the rest.
    services.work_preference_set(project=project, user=labeler, kind="", track="")
    assert services.work_item_claim_next(project=project, user=labeler).work_item.kind == "demonstration"


def test_a_track_choice_walks_only_that_track(project, members, acked, make_prompts, sync):
    _setup(project, make_prompts, sync, n=3, track="helpful")
    make_prompts(2, candidates=2, track="harmless", start=10)
    sync()
    labeler = acked(members[Role.LABELER])
    services.work_preference_set(project=project, user=labeler, kind="demonstration", track="harmless")
    served = []
    while (task := services.work_item_claim_next(project=project, user=labeler)) is not None:
        served.append((task.work_item.kind, task.work_item.prompt.track))
        _finish(labeler, task)
    assert served == [("demonstration", "harmless")] * 2
    choice = selectors.work_choice(project=project, user=labeler, schema=schema_of(None))
    assert choice["empty_message"] == "No demonstrations left for you on the Harmless track; switch to anything?"
    # Anything on any track still has work for them.
    services.work_preference_set(project=project, user=labeler, kind="", track="")
    assert services.work_item_claim_next(project=project, user=labeler) is not None
    assert selectors.work_choice(project=project, user=labeler, schema=schema_of(None))["empty_message"] == ""


def test_bad_choices_are_refused_naming_the_field(project, members, acked, guidelines):
    labeler = acked(members[Role.LABELER])
    with pytest.raises(ApplicationError) as err:
        services.work_preference_set(project=project, user=labeler, kind="steps-someday", track="")
    assert err.value.extra["fields"].keys() == {"kind"}
    with pytest.raises(ApplicationError) as err:
        services.work_preference_set(project=project, user=labeler, kind="", track="nope")
    assert err.value.extra["fields"].keys() == {"track"}
    assert not WorkPreference.objects.exists()
    with pytest.raises(ApplicationError):
        services.work_preference_set(project=project, user=members[Role.ENGINEER], kind="", track="")


def test_anything_serves_a_mix_of_kinds(project, members, acked, make_prompts, sync):
    """Six demonstrations (built first) and six comparisons: the first eight claims are not all
    demonstrations, as they were when the claim walked the queue in id order."""
    _setup(project, make_prompts, sync, n=6)
    labeler = acked(members[Role.LABELER])
    random.seed(15)
    kinds = []
    for _ in range(8):
        task = services.work_item_claim_next(project=project, user=labeler)
        kinds.append(task.work_item.kind)
        _finish(labeler, task)
    assert 2 <= kinds.count("comparison") <= 6, kinds
    # When one kind runs out, the other is served (the fallback), to the end.
    while (task := services.work_item_claim_next(project=project, user=labeler)) is not None:
        kinds.append(task.work_item.kind)
        _finish(labeler, task)
    assert sorted(kinds) == ["comparison"] * 6 + ["demonstration"] * 6


def test_mix_fallback_costs_a_statement_only_when_the_first_kind_is_empty(
    project, members, acked, make_prompts, sync, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL claim (one statement)")
    _setup(project, make_prompts, sync, n=1)
    labeler = acked(members[Role.LABELER])
    monkeypatch.setattr(services.random, "shuffle", lambda order: order.sort(key=lambda k: k != ["comparison"]))
    claims = []

    def counted():
        with CaptureQueriesContext(connection) as ctx:
            task = services.work_item_claim_next(project=project, user=labeler, role=Role.LABELER)
        claims.append(sum(1 for q in ctx.captured_queries if q["sql"].startswith("\nWITH pick")))
        return task

    first = counted()  # comparison first: found
    assert first.work_item.kind == "comparison" and claims == [1]
    _finish(labeler, first)
    second = counted()  # comparison first: nothing left, then the demonstration
    assert second.work_item.kind == "demonstration" and claims == [1, 2]


def test_a_stored_choice_adds_no_statement_to_the_claim(project, members, acked, make_prompts, sync, api):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL claim (one statement)")
    _setup(project, make_prompts, sync, n=2)
    labeler = acked(members[Role.LABELER])
    client = api(labeler)
    client.get("/api/v1/me")
    assert client.put(
        f"/api/v1/projects/{project.pk}/work/preference", {"kind": "comparison", "track": "helpful"}, format="json"
    ).json() == {"kind": "comparison", "track": "helpful"}
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/api/v1/projects/{project.pk}/work/next", {}, format="json")
    assert response.status_code == 200 and response.json()["kind"] == "comparison"
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].upper().startswith(control)]
    assert len(statements) == 5, statements  # as tests/labeling/test_hot_path.py pins it


def test_api_preference_and_per_claim_override(project, members, acked, make_prompts, sync, api):
    _setup(project, make_prompts, sync, n=2)
    labeler = acked(members[Role.LABELER])
    client = api(labeler)
    base = f"/api/v1/projects/{project.pk}/work"
    assert client.get(f"{base}/preference").json() == {"kind": "", "track": ""}
    bad = client.put(f"{base}/preference", {"kind": "comparison", "track": "nope"}, format="json")
    assert bad.status_code == 400 and "track" in json.dumps(bad.json())
    bad = client.put(f"{base}/preference", {"kind": "steps", "track": ""}, format="json")
    assert bad.status_code == 400 and "kind" in json.dumps(bad.json())
    assert client.put(f"{base}/preference", {"kind": "demonstration", "track": ""}, format="json").status_code == 200
    # The query string overrides the stored choice for one claim.
    task = client.post(f"{base}/next?kind=comparison&track=helpful").json()
    assert task["kind"] == "comparison" and task["review_comment"] == "" and task["reopened_from"] is None
    client.post(f"/api/v1/work-items/{task['id']}/skip", {"reason": "later"}, format="json")
    assert client.post(f"{base}/next", {}, format="json").json()["kind"] == "demonstration"
    bad = client.post(f"{base}/next", {"track": "nope"}, format="json")  # checked even while holding a task
    assert bad.status_code == 400 and bad.json()["extra"]["fields"] == {"track": ["Unknown."]}
    # Nothing on the red-team track: 204.
    client.post(f"/api/v1/work-items/{WorkItem.objects.filter(taken=1).first().pk}/skip", {"reason": "x"})
    assert client.post(f"{base}/next", {"kind": "comparison", "track": "red-team"}, format="json").status_code == 204
    outsider = api(members["outsider"])
    assert outsider.put(f"{base}/preference", {"kind": "", "track": ""}, format="json").status_code == 404
    assert api(members[Role.ENGINEER]).get(f"{base}/preference").status_code == 403


def test_workbench_chooser_stores_the_choice_and_says_when_it_is_empty(
    project, members, acked, make_prompts, sync, client_for
):
    _setup(project, make_prompts, sync, n=1)
    labeler = acked(members[Role.LABELER])
    client = client_for(labeler)
    workbench = reverse("projects:labeling:workbench", args=[project.pk])
    page = client.get(workbench).content.decode()
    assert 'id="wb-choice-kind"' in page and '<option value="comparison">Comparisons</option>' in page
    response = client.post(
        reverse("projects:labeling:preference", args=[project.pk]), {"kind": "comparison", "track": "red-team"}
    )
    assert response.status_code == 302 and response["Location"] == workbench
    page = client.get(workbench).content.decode()
    assert '<option value="comparison" selected>' in page and '<option value="red-team" selected>' in page
    config = json.loads(page.split('id="wb-config" type="application/json">')[1].split("</script>")[0])
    assert config["emptyMessage"] == "No comparisons left for you on the Red team track; switch to anything?"
    assert config["preferenceUrl"] == f"/api/v1/projects/{project.pk}/work/preference"
    bad = client.post(reverse("projects:labeling:preference", args=[project.pk]), {"kind": "x"}, follow=True)
    assert "is not a kind of work" in bad.content.decode()
    assert WorkPreference.objects.get(user=labeler).track == "red-team"


def test_a_track_the_schema_dropped_reads_as_any_track(project, members, acked, make_prompts, sync):
    _setup(project, make_prompts, sync, n=1)
    labeler = acked(members[Role.LABELER])
    WorkPreference.objects.create(project=project, user=labeler, kind="comparison", track="gone")
    task = services.work_item_claim_next(project=project, user=labeler)
    assert task.work_item.kind == WorkKind.COMPARISON and task.status == AssignmentStatus.ACTIVE
