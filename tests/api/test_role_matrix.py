"""Every API endpoint × every role (plus a non-member and anonymous): allowed or denied."""

import io
import json

import pytest

from labelhub.projects.models import Membership, Role
from labelhub.prompts.models import Prompt, PromptImport
from tests.factories import UserFactory

ADMIN, LABELER, REVIEWER, ENGINEER = Role.ADMIN, Role.LABELER, Role.REVIEWER, Role.ENGINEER
EVERY_ROLE = {ADMIN, LABELER, REVIEWER, ENGINEER}


def _jsonl(*records):
    return "\n".join(json.dumps(r) for r in records).encode()


@pytest.fixture
def world(project, members, publish, staff):
    v1 = publish(project, staff, "# Rules\n\nBe helpful.")
    publish(project, staff, "# Rules\n\nBe helpful and truthful.")
    prompt = Prompt.objects.create(
        project=project, messages=[{"role": "user", "content": "hi"}], text="hi", content_hash="x" * 64
    )
    imp = PromptImport.objects.create(project=project, created_by=staff, filename="f.jsonl", file_format="jsonl")
    spare = UserFactory(username="spare")
    target = Membership.objects.create(project=project, user=spare, role=LABELER)
    return {"project": project, "prompt": prompt, "import": imp, "v1": v1, "target": target}


def endpoints(w):
    p = w["project"].pk
    return [
        # (method, url, body, roles allowed, success status)
        ("get", f"/api/v1/projects/{p}", None, EVERY_ROLE, 200),
        ("patch", f"/api/v1/projects/{p}", {"description": "new"}, {ADMIN}, 200),
        ("get", f"/api/v1/projects/{p}/members", None, {ADMIN}, 200),
        ("post", f"/api/v1/projects/{p}/members", {"username": "newbie", "role": "labeler"}, {ADMIN}, 201),
        ("patch", f"/api/v1/projects/{p}/members/{w['target'].pk}", {"role": "reviewer"}, {ADMIN}, 200),
        ("delete", f"/api/v1/projects/{p}/members/{w['target'].pk}", None, {ADMIN}, 204),
        ("get", f"/api/v1/projects/{p}/guidelines", None, EVERY_ROLE, 200),
        ("get", f"/api/v1/projects/{p}/guidelines/draft", None, {ADMIN}, 200),
        ("put", f"/api/v1/projects/{p}/guidelines/draft", {"content": "draft"}, {ADMIN}, 200),
        ("get", f"/api/v1/projects/{p}/guidelines/1", None, EVERY_ROLE, 200),
        ("get", f"/api/v1/projects/{p}/guidelines/diff?from=1&to=2", None, EVERY_ROLE, 200),
        ("post", f"/api/v1/projects/{p}/guidelines/2/acknowledge", None, EVERY_ROLE, 200),
        ("get", f"/api/v1/projects/{p}/prompts", None, EVERY_ROLE, 200),
        ("get", f"/api/v1/projects/{p}/prompts/{w['prompt'].pk}", None, EVERY_ROLE, 200),
        ("post", f"/api/v1/projects/{p}/prompts/import", "FILE", {ADMIN}, 201),
        ("get", f"/api/v1/projects/{p}/prompt-imports/{w['import'].pk}", None, {ADMIN}, 200),
        # Last: it makes a new current version.
        ("post", f"/api/v1/projects/{p}/guidelines", {"change_note": "n", "content": "# New"}, {ADMIN}, 201),
    ]


def _call(client, method, url, body):
    if body == "FILE":
        upload = io.BytesIO(_jsonl({"prompt": "a brand new prompt"}))
        upload.name = "p.jsonl"
        return client.post(url, {"file": upload}, format="multipart")
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("who", [ADMIN, LABELER, REVIEWER, ENGINEER, "outsider", "anonymous"])
def test_role_matrix(world, members, api, who, make_project):
    # The admin (not staff) may add newbie: they already work together on another project.
    side = make_project("Side")
    for user in (members[ADMIN], UserFactory(username="newbie")):
        Membership.objects.create(project=side, user=user, role=LABELER)
    user = None if who == "anonymous" else members[who]
    client = api(user)
    failures = []
    for i, (method, url, body, allowed, ok_status) in enumerate(endpoints(world)):
        response = _call(client, method, url, body)
        if who == "anonymous":
            expected = 401
        elif who == "outsider":
            expected = 404
        elif who in allowed:
            expected = ok_status
        else:
            expected = 403
        if response.status_code != expected:
            failures.append(
                f"#{i} {method.upper()} {url}: {response.status_code} != {expected} {response.content[:200]!r}"
            )
        if response.status_code >= 400:
            body_json = response.json()
            assert set(body_json) == {"message", "extra"}, (url, body_json)
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_project_list_shows_only_my_projects(make_project, members, api, project):
    make_project("Other")
    for role in (ADMIN, LABELER, ENGINEER):
        names = [p["name"] for p in api(members[role]).get("/api/v1/projects").json()["results"]]
        assert names == ["Alpha"]
    assert api(members["outsider"]).get("/api/v1/projects").json()["results"] == []


@pytest.mark.django_db
def test_only_staff_create_projects(api, members, staff):
    denied = api(members[ADMIN]).post("/api/v1/projects", {"name": "Mine"}, format="json")
    assert denied.status_code == 403
    created = api(staff).post("/api/v1/projects", {"name": "Mine", "tracks": ["helpful"]}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["my_role"] == "admin"
    assert created.json()["tracks"] == ["helpful"]


@pytest.mark.django_db
def test_member_of_b_gets_404_on_every_object_of_a(world, make_project, api, staff):
    """Cross-project: an admin of project B cannot reach A's objects, directly or through B's routes."""
    b = make_project("Beta")
    b_admin = UserFactory(username="b-admin")
    Membership.objects.create(project=b, user=b_admin, role=ADMIN)
    client = api(b_admin)
    a = world["project"].pk
    for method, url, body, _allowed, _ok in endpoints(world):
        response = _call(client, method, url, body)
        assert response.status_code == 404, (method, url, response.status_code)
    # A's object ids through B's URLs are 404 too.
    for url in (
        f"/api/v1/projects/{b.pk}/prompts/{world['prompt'].pk}",
        f"/api/v1/projects/{b.pk}/prompt-imports/{world['import'].pk}",
        f"/api/v1/projects/{b.pk}/members/{world['target'].pk}",
    ):
        assert client.get(url).status_code in (404, 405), url
    assert (
        client.patch(
            f"/api/v1/projects/{b.pk}/members/{world['target'].pk}", {"role": "admin"}, format="json"
        ).status_code
        == 404
    )
    assert Membership.objects.get(pk=world["target"].pk).role == LABELER
    assert client.get(f"/api/v1/projects/{a}").status_code == 404


@pytest.mark.django_db
def test_labeler_cannot_change_own_role(world, members, api):
    me = Membership.objects.get(project=world["project"], user=members[LABELER])
    response = api(members[LABELER]).patch(
        f"/api/v1/projects/{world['project'].pk}/members/{me.pk}", {"role": "admin"}, format="json"
    )
    assert response.status_code == 403
    me.refresh_from_db()
    assert me.role == LABELER


@pytest.mark.django_db
def test_last_admin_cannot_be_demoted_or_removed(make_project, api, staff):
    project = make_project("Solo")
    me = Membership.objects.get(project=project, user=staff)
    client = api(staff)
    assert (
        client.patch(f"/api/v1/projects/{project.pk}/members/{me.pk}", {"role": "labeler"}, format="json").status_code
        == 409
    )
    assert client.delete(f"/api/v1/projects/{project.pk}/members/{me.pk}").status_code == 409
    me.refresh_from_db()
    assert me.role == ADMIN
