"""Labels answer the questions of the guideline version their task was claimed under (the schema is
versioned with the guidelines): validated once, against that version, and stored with it."""

import pytest

from labelhub.labeling import services
from labelhub.labeling.models import Assignment, AssignmentStatus, Label, WorkItem
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from labelhub.projects.rubric import PRESETS
from tests.factories import UserFactory

V2_SCHEMA = {
    **PRESETS["minimal"].as_dict(),
    "tracks": [{"name": "helpful"}, {"name": "harmless"}, {"name": "red-team"}],
    "questions": [
        {"name": "helpful", "type": "scale", "min": 0, "max": 4, "required": True},
        {"name": "concise", "type": "binary", "required": True},
    ],
}


def _v1_body(ids):
    return {
        "ranks": {ids[0]: 1, ids[1]: 2},
        "ratings": {cid: {"helpful": 6, "truthful": 5, "harmless": 7} for cid in ids},
        "strength": "better",
    }


def _v2_body(ids):
    return {"ranks": {ids[0]: 2, ids[1]: 1}, "answers": {cid: {"helpful": 3, "concise": True} for cid in ids}}


@pytest.fixture
def comparison_project(project, make_prompts, sync):
    project.demonstrations_enabled = False
    project.comparison_overlap = 2
    project.save()
    make_prompts(2, candidates=2)
    return project


def _labeler(project, name):
    user = UserFactory(username=name)
    project_services.membership_add(project=project, username=name, role=Role.LABELER)
    return user


def _ack(project, user):
    number = project.guideline_versions.order_by("-number").first().number
    project_services.guideline_acknowledge(project=project, user=user, number=number)


@pytest.mark.django_db
def test_a_schema_change_mid_project_keeps_each_label_on_its_own_version(
    comparison_project, guidelines, staff, sync, api
):
    project = comparison_project
    sync()
    early, late = _labeler(project, "early"), _labeler(project, "late")
    _ack(project, early)
    held = services.work_item_claim_next(project=project, user=early)
    assert held.guideline_version.number == 1
    project_services.guideline_draft_save(project=project, user=staff, schema=V2_SCHEMA)
    project_services.guideline_version_publish(project=project, user=staff, change_note="0-4 scale, concise")

    # The task claimed under v1 still asks v1's questions, and only those.
    client = api(early)
    task = client.get(f"/api/v1/work-items/{held.work_item_id}").json()
    assert [q["name"] for q in task["schema"]["questions"]] == ["helpful", "truthful", "harmless", "flags"]
    ids = [str(c["id"]) for c in task["candidates"]]
    refused = client.post(f"/api/v1/work-items/{held.work_item_id}/ranking", _v2_body(ids), format="json")
    assert refused.status_code == 400 and "concise" in refused.json()["extra"]["fields"]
    assert (
        client.post(f"/api/v1/work-items/{held.work_item_id}/ranking", _v1_body(ids), format="json").status_code == 201
    )

    # A task claimed now follows v2.
    _ack(project, late)
    client = api(late)
    task = client.post(f"/api/v1/projects/{project.pk}/work/next", {}, format="json").json()
    assert task["guideline_version"] == 2 and task["questions"] == ["helpful", "concise"]
    assert task["needs_safety"] is False and task["flags"] == []
    ids = [str(c["id"]) for c in task["candidates"]]
    refused = client.post(f"/api/v1/work-items/{task['id']}/ranking", _v1_body(ids), format="json").json()
    assert {"truthful", "harmless", "concise"} <= set(refused["extra"]["fields"])
    assert "0 to 4" in refused["extra"]["fields"]["helpful"][0]
    assert client.post(f"/api/v1/work-items/{task['id']}/ranking", _v2_body(ids), format="json").status_code == 201

    labels = {label.guideline_version.number: label for label in Label.objects.select_related("guideline_version")}
    assert [set(answers) for answers in labels[1].ratings.values()] == [{"helpful", "truthful", "harmless"}] * 2
    assert labels[2].ratings == {cid: {"helpful": 3, "concise": True} for cid in ids}
    assert labels[2].guideline_version.schema["questions"][1]["name"] == "concise"
    assert labels[1].guideline_version.schema["questions"][1]["name"] == "truthful"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda b, ids: b["ratings"][ids[0]].update(colour=1), "colour"),
        (lambda b, ids: b["ratings"][ids[0]].update(helpful=0), "helpful"),
        (lambda b, ids: b["ratings"][ids[1]].pop("truthful"), "truthful"),
        (lambda b, ids: b.update(strength="way_better"), "strength"),
    ],
)
def test_a_bad_submission_is_400_naming_the_question_and_writes_nothing(
    comparison_project, acked, members, sync, api, change, named
):
    project = comparison_project
    sync()
    user = acked(members[Role.LABELER])
    client = api(user)
    task = client.post(f"/api/v1/projects/{project.pk}/work/next", {}, format="json").json()
    ids = [str(c["id"]) for c in task["candidates"]]
    body = _v1_body(ids)
    change(body, ids)
    before = WorkItem.objects.get(pk=task["id"])
    response = client.post(f"/api/v1/work-items/{task['id']}/ranking", body, format="json")
    assert response.status_code == 400
    assert named in response.json()["extra"]["fields"]
    assert not Label.objects.exists()
    after = WorkItem.objects.get(pk=task["id"])
    assert (after.taken, after.label_count) == (before.taken, before.label_count)
    assert Assignment.objects.get(pk=task["assignment_id"]).status == AssignmentStatus.ACTIVE
