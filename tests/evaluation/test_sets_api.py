import pytest

from labelhub.evaluation.models import EvaluationSet
from labelhub.evaluation.services.sets import evaluation_set_create
from labelhub.projects.models import Role
from labelhub.prompts.models import Prompt

from .test_sets_pages import finished_run
from .test_sets_services import make_prompt

pytestmark = pytest.mark.django_db


@pytest.fixture
def prompts(project):
    return [make_prompt(project, f"Q{i}", tags=["eval"], external_id=f"q{i}") for i in range(5)]


def sets_url(project):
    return f"/api/v1/projects/{project.pk}/evaluation-sets"


def test_create_list_detail_delete(project, members, api, prompts):
    client = api(members[Role.ENGINEER])
    body = {
        "name": "api set",
        "tags": ["eval"],
        "sample": 3,
        "references": {"q0": "Zero."},
        "prompt_ids": [p.pk for p in prompts[:4]],
    }
    body["prompt_ids"] = [p.pk for p in prompts[:3]]  # a sample of 3 of 3: every one (q0 has a reference)
    response = client.post(sets_url(project), body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["version"] == 1 and data["prompt_count"] == 3 and isinstance(data["selection"]["seed"], int)
    assert data["created_by"] == members[Role.ENGINEER].username
    listing = client.get(sets_url(project)).json()["results"]
    assert [(s["id"], s["run_count"], s["latest_score"]) for s in listing] == [(data["id"], 0, None)]
    detail = client.get(f"/api/v1/evaluation-sets/{data['id']}").json()
    assert len(detail["prompt_ids"]["results"]) == 3 and detail["prompt_ids"]["next_after"] is None
    assert detail["runs"] == []
    assert client.delete(f"/api/v1/evaluation-sets/{data['id']}").status_code == 204
    assert not EvaluationSet.objects.exists() and not Prompt.objects.filter(held_out=True).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "x", "prompt_ids": ["abc"]}, "prompt_ids"),
        ({"name": "x", "prompt_ids": [999999999]}, "prompt_ids"),
        ({"name": "x", "tags": ["none-has-it"]}, "prompt_ids"),
        ({"name": "x", "sample": 0}, "sample"),
        ({"name": "x", "sample": 10**9}, "sample"),
        ({"name": "x", "seed": -3}, "seed"),
        ({"name": "x", "references": {"nope": "text"}}, "references"),
        ({"name": "x", "references": ["q0"]}, "references"),
    ],
)
def test_bad_input_is_400_naming_the_field(project, members, api, prompts, body, field):
    response = api(members[Role.ADMIN]).post(sets_url(project), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["extra"]["fields"]
    assert not EvaluationSet.objects.exists()


def test_unknown_keys_are_400(project, members, api, prompts):
    response = api(members[Role.ADMIN]).post(sets_url(project), {"name": "x", "colour": "red"}, format="json")
    assert response.status_code == 400 and response.json()["extra"]["allowed"]
    response = api(members[Role.ADMIN]).get(sets_url(project) + "?page=2")
    assert response.status_code == 400


def test_a_set_with_runs_is_409_on_delete_and_reports_its_runs(project, members, api, prompts, staff):
    s = evaluation_set_create(project=project, user=staff, name="r", tags=["eval"])
    finished_run(s, 1, 0.6, 0.5, 0.7)
    client = api(members[Role.ADMIN])
    assert client.delete(f"/api/v1/evaluation-sets/{s.pk}").status_code == 409
    detail = client.get(f"/api/v1/evaluation-sets/{s.pk}").json()
    assert [(r["number"], r["status"], r["score"]["value"]) for r in detail["runs"]] == [(1, "finished", 0.6)]
    listing = client.get(sets_url(project)).json()["results"]
    assert listing[0]["latest_score"] == {"value": 0.6, "low": 0.5, "high": 0.7, "n": 40}


def test_prompt_ids_are_paged(project, members, api, staff, monkeypatch):
    from labelhub.evaluation.apis import sets as apis

    monkeypatch.setattr(apis, "PROMPT_IDS_PAGE", 2)
    ps = [make_prompt(project, f"p{i}") for i in range(5)]
    s = evaluation_set_create(project=project, user=staff, name="paged", prompt_ids=[p.pk for p in ps])
    client = api(members[Role.ENGINEER])
    seen, after = [], None
    while True:
        page = client.get(f"/api/v1/evaluation-sets/{s.pk}" + (f"?prompts_after={after}" if after else "")).json()
        seen += page["prompt_ids"]["results"]
        after = page["prompt_ids"]["next_after"]
        if after is None:
            break
    assert seen == sorted(p.pk for p in ps)
    assert client.get(f"/api/v1/evaluation-sets/{s.pk}?prompts_after=١٢").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.ENGINEER, 200), (Role.LABELER, 403), (Role.REVIEWER, 403), ("outsider", 404)],
)
def test_role_matrix(project, members, api, prompts, staff, role, status):
    s = evaluation_set_create(project=project, user=staff, name="m", tags=["eval"])
    client = api(members[role])
    assert client.get(sets_url(project)).status_code == status
    assert client.get(f"/api/v1/evaluation-sets/{s.pk}").status_code == status
    created = client.post(sets_url(project), {"name": "n", "tags": ["eval"]}, format="json")
    assert created.status_code == (201 if status == 200 else status)
    if status != 200:
        assert client.delete(f"/api/v1/evaluation-sets/{s.pk}").status_code == status
        assert EvaluationSet.objects.filter(pk=s.pk).exists()
    assert api(None).get(sets_url(project)).status_code in (401, 403)


def test_cross_project_is_404(project, members, api, make_project, staff):
    other = make_project("Other")
    theirs = evaluation_set_create(project=other, user=staff, name="t", prompt_ids=[make_prompt(other, "t").pk])
    client = api(members[Role.ADMIN])
    assert client.get(f"/api/v1/evaluation-sets/{theirs.pk}").status_code == 404
    assert client.delete(f"/api/v1/evaluation-sets/{theirs.pk}").status_code == 404
    assert client.get(f"/api/v1/projects/{other.pk}/evaluation-sets").status_code == 404
    mine = make_prompt(project, "mine")
    response = client.post(
        sets_url(project), {"name": "x", "prompt_ids": [theirs.members.get().prompt_id, mine.pk]}, format="json"
    )
    assert response.status_code == 400 and "prompt_ids" in response.json()["extra"]["fields"]


def test_query_counts_do_not_grow(project, members, api, staff, django_assert_max_num_queries):
    client = api(members[Role.ENGINEER])
    small = evaluation_set_create(
        project=project, user=staff, name="s", prompt_ids=[make_prompt(project, f"s{i}").pk for i in range(2)]
    )
    big = evaluation_set_create(
        project=project, user=staff, name="b", prompt_ids=[make_prompt(project, f"b{i}").pk for i in range(50)]
    )
    for i in range(1, 5):
        finished_run(big, i, 0.5, 0.4, 0.6)
    client.get(sets_url(project))  # the token's first use is recorded once
    counts = []
    for s in (small, big):
        with django_assert_max_num_queries(15) as captured:
            assert client.get(f"/api/v1/evaluation-sets/{s.pk}").status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(15):
        assert client.get(sets_url(project)).status_code == 200


def test_schema_lists_the_routes(admin_client):
    schema = admin_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/projects/{project_id}/evaluation-sets" in schema.content
    assert b"/api/v1/evaluation-sets/{set_id}" in schema.content
