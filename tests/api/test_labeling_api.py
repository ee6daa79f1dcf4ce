"""Labeling API: role matrix, blind labeling, cross-project 404s, status codes."""

import pytest

from labelhub.labeling.models import Label, WorkItem
from labelhub.projects import services as project_services
from labelhub.projects.models import Membership, Role
from tests.factories import UserFactory

ADMIN, LABELER, REVIEWER, ENGINEER = Role.ADMIN, Role.LABELER, Role.REVIEWER, Role.ENGINEER


@pytest.mark.django_db
@pytest.mark.parametrize("who", [ADMIN, LABELER, REVIEWER, ENGINEER, "outsider", "anonymous"])
def test_work_next_and_submit_by_role(ready, members, api, who):
    client = api(None if who == "anonymous" else members[who])
    response = client.post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json")
    expected = {ADMIN: 200, LABELER: 200, REVIEWER: 200, ENGINEER: 403, "outsider": 404, "anonymous": 401}[who]
    assert response.status_code == expected, response.content
    if expected != 200:
        assert set(response.json()) == {"message", "extra"}
        return
    task = response.json()
    assert task["kind"] == "demonstration" and task["messages"][0]["role"] == "user"
    url = f"/api/v1/work-items/{task['id']}"
    assert client.put(f"{url}/draft", {"content": "draft"}, format="json").status_code == 200
    first = client.post(f"{url}/demonstration", {"content": "ideal"}, format="json")
    assert first.status_code == 201, first.content
    replay = client.post(f"{url}/demonstration", {"content": "ideal"}, format="json")
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    conflict = client.post(f"{url}/demonstration", {"content": "different"}, format="json")
    assert conflict.status_code == 409 and conflict.json()["extra"]["reason"] == "already_submitted"
    assert client.put(f"{url}/draft", {"content": "late"}, format="json").status_code == 409
    mine = client.get(f"/api/v1/projects/{ready.pk}/my-labels").json()["results"]
    assert [label["content"] for label in mine] == ["ideal"]


@pytest.mark.django_db
def test_guideline_gate_is_409_with_versions(ready, staff, members, api):
    project_services.guideline_version_publish(project=ready, user=staff, change_note="v2", content="# G2")
    response = api(members[LABELER]).post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json")
    assert response.status_code == 409
    assert response.json()["extra"] == {"current_version": 2, "acknowledged_version": 1}


@pytest.mark.django_db
def test_blind_labeling_and_other_peoples_tasks_are_404(ready, members, api):
    a, b = api(members[LABELER]), api(members[REVIEWER])
    task = a.post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json").json()
    a.post(f"/api/v1/work-items/{task['id']}/demonstration", {"content": "secret label"}, format="json")
    for method, suffix, body in (
        ("get", "", None),
        ("post", "/demonstration", {"content": "x"}),
        ("post", "/skip", {"reason": "x"}),
        ("put", "/draft", {"content": "x"}),
    ):
        call = getattr(b, method)
        response = (
            call(f"/api/v1/work-items/{task['id']}{suffix}", body, format="json")
            if body
            else call(f"/api/v1/work-items/{task['id']}{suffix}")
        )
        assert response.status_code == 404, (suffix, response.content)
        assert b"secret label" not in response.content
    other = b.post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json").json()
    assert b"secret label" not in str(other).encode()


@pytest.mark.django_db
def test_member_of_another_project_gets_404(ready, make_project, members, api):
    other = make_project("Other")
    intruder = UserFactory(username="intruder")
    Membership.objects.create(project=other, user=intruder, role=ADMIN)
    task = api(members[LABELER]).post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json").json()
    client = api(intruder)
    assert client.post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json").status_code == 404
    assert client.get(f"/api/v1/work-items/{task['id']}").status_code == 404
    assert client.get(f"/api/v1/projects/{ready.pk}/my-labels").status_code == 404
    assert client.post(f"/api/v1/projects/{ready.pk}/work/sync").status_code == 404


@pytest.mark.django_db
def test_skip_then_nothing_left_is_204(ready, members, api):
    client = api(members[LABELER])
    for _ in range(WorkItem.objects.count()):
        task = client.post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json").json()
        assert client.post(f"/api/v1/work-items/{task['id']}/skip", {}, format="json").status_code == 400
        assert (
            client.post(f"/api/v1/work-items/{task['id']}/skip", {"reason": "unclear"}, format="json").status_code
            == 200
        )
    assert client.post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json").status_code == 204


@pytest.mark.django_db
def test_review_api_roles(ready, members, api):
    labeler = api(members[LABELER])
    task = labeler.post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json").json()
    label_id = labeler.post(f"/api/v1/work-items/{task['id']}/demonstration", {"content": "x"}, format="json").json()[
        "id"
    ]
    url = f"/api/v1/labels/{label_id}/review"
    assert labeler.post(url, {"accept": True}, format="json").status_code == 403
    assert api(members[ENGINEER]).post(url, {"accept": True}, format="json").status_code == 403
    assert api(members["outsider"]).post(url, {"accept": True}, format="json").status_code == 404
    assert api(members[REVIEWER]).post(url, {"accept": False}, format="json").status_code == 400
    ok = api(members[REVIEWER]).post(url, {"accept": False, "comment": "wrong"}, format="json")
    assert ok.status_code == 200 and ok.json()["review_status"] == "rejected"
    assert Label.objects.get(pk=label_id).reviewed_by == members[REVIEWER]


@pytest.mark.django_db
def test_sync_is_for_admins(ready, members, api):
    for role, code in ((ADMIN, 200), (LABELER, 403), (ENGINEER, 403)):
        assert api(members[role]).post(f"/api/v1/projects/{ready.pk}/work/sync").status_code == code


@pytest.mark.django_db
def test_labeling_settings_via_api(project, members, api):
    client = api(members[ADMIN])
    url = f"/api/v1/projects/{project.pk}"
    ok = client.patch(url, {"lease_minutes": 10, "demonstrations_enabled": False}, format="json")
    assert ok.status_code == 200, ok.content
    assert (ok.json()["lease_minutes"], ok.json()["demonstrations_enabled"]) == (10, False)
    # Flags and tracks are edited in the labeling schema (the guideline draft), not in the settings.
    for body in ({"lease_minutes": 0}, {"flags": ["a"]}, {"tracks": ["helpful"]}, {"comparisons_enabled": "maybe"}):
        response = client.patch(url, body, format="json")
        assert response.status_code == 400, (body, response.content)
    assert api(members[LABELER]).patch(url, {"lease_minutes": 5}, format="json").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [b'{"note": "lone \\ud800 surrogate"}', b'{"note": "nul \\u0000 char"}', b'{"\\ud83d": 1}'],
    ids=["surrogate", "nul", "surrogate-key"],
)
def test_free_form_bodies_with_unstorable_text_are_400(ready, members, api, payload):
    """Drafts and rankings are free-form JSON objects: text PostgreSQL cannot store is refused by the
    parser with a clear 400, never a 500."""
    client = api(members[LABELER])
    task = client.post(f"/api/v1/projects/{ready.pk}/work/next", {}, format="json").json()
    for suffix, method in (("draft", "PUT"), ("ranking", "POST")):
        response = client.generic(
            method, f"/api/v1/work-items/{task['id']}/{suffix}", payload, content_type="application/json"
        )
        assert response.status_code == 400, response.content
        assert "body" in response.json()["message"]
