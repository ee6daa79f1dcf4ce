"""The labeling schema API: GET /api/v1/projects/{id}/schema (published + draft), per version, the draft's
PUT/PATCH with a schema (400 naming each problem, nothing written), the presets."""

import pytest

from labelhub.projects import selectors
from labelhub.projects.models import GuidelineDraft, GuidelineVersion, Role
from labelhub.projects.rubric import PRESETS, schema_of

pytestmark = pytest.mark.django_db


def _url(project, tail=""):
    return f"/api/v1/projects/{project.pk}" + (f"/{tail}" if tail else "")


def test_before_publishing_only_the_draft(project, members, api):
    body = api(members[Role.ADMIN]).get(_url(project, "schema")).json()
    assert body["published"] is None
    assert schema_of(body["draft"]["schema"]) == PRESETS["hhh"]
    assert body["draft"]["version"] is None and body["draft"]["digest"] == PRESETS["hhh"].digest()


def test_published_and_draft_and_per_version(project, members, staff, api, publish):
    publish(project, staff, "# v1")
    client = api(members[Role.ADMIN])
    put = client.put(_url(project, "guidelines/draft"), {"schema": PRESETS["helpsteer"].as_dict()}, format="json")
    assert put.status_code == 200 and schema_of(put.json()["schema"]) == PRESETS["helpsteer"]
    assert put.json()["content"] == "# v1"  # only the schema changed
    body = client.get(_url(project, "schema")).json()
    assert body["published"]["version"] == 1 and schema_of(body["published"]["schema"]) == PRESETS["hhh"]
    assert schema_of(body["draft"]["schema"]) == PRESETS["helpsteer"]
    published = client.post(_url(project, "guidelines"), {"change_note": "HelpSteer"}, format="json")
    assert published.status_code == 201
    v2 = client.get(_url(project, "guidelines/versions/2/schema")).json()
    assert v2["version"] == 2 and schema_of(v2["schema"]) == PRESETS["helpsteer"]
    v1 = api(members[Role.LABELER]).get(_url(project, "guidelines/versions/1/schema")).json()
    assert schema_of(v1["schema"]) == PRESETS["hhh"] and v1["digest"] == PRESETS["hhh"].digest()


def test_non_admins_read_the_published_schema_not_the_draft(project, members, staff, api, publish):
    publish(project, staff, "# v1")
    for role in (Role.LABELER, Role.REVIEWER, Role.ENGINEER):
        response = api(members[role]).get(_url(project, "schema"))
        assert response.status_code == 200
        assert response.json()["draft"] is None and response.json()["published"]["version"] == 1
    schema = {"schema": PRESETS["minimal"].as_dict()}
    for role in (Role.LABELER, Role.REVIEWER, Role.ENGINEER):
        assert api(members[role]).put(_url(project, "guidelines/draft"), schema, format="json").status_code == 403
    assert schema_of(GuidelineDraft.objects.get(project=project).schema) == PRESETS["hhh"]


def test_outsiders_and_other_projects_get_404(project, members, staff, api, publish, make_project):
    publish(project, staff, "# v1")
    outsider = api(members["outsider"])
    for tail in ("schema", "guidelines/versions/1/schema"):
        assert outsider.get(_url(project, tail)).status_code == 404
    assert outsider.patch(_url(project, "guidelines/draft"), {"content": "x"}, format="json").status_code == 404
    other = make_project("Other")  # staff's, unpublished: no version 1 there
    assert api(staff).get(_url(other, "guidelines/versions/1/schema")).status_code == 404
    assert api(staff).get(_url(project, "guidelines/versions/7/schema")).status_code == 404
    assert api(None).get(_url(project, "schema")).status_code in (401, 403)


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda s: s["questions"][2].update(min=4, max=2), "schema.questions[2].max"),
        (lambda s: s["questions"][1].update(key=s["questions"][0]["key"]), "schema.questions[1].key"),
        (lambda s: s["questions"][3].update(name="Not a name"), "schema.questions[3].name"),
        (lambda s: s["questions"].append(dict(s["questions"][0])), "schema.questions[5].name"),
        (lambda s: s["questions"][0].update(tracks=["nowhere"]), "schema.questions[0].tracks"),
        (lambda s: s.update(colour="red"), "schema.colour"),
    ],
)
def test_invalid_schema_is_a_400_naming_the_field_and_writes_nothing(project, members, api, edit, path):
    schema = PRESETS["helpsteer"].as_dict()
    edit(schema)
    before = GuidelineDraft.objects.get(project=project)
    for method in ("put", "patch"):
        response = getattr(api(members[Role.ADMIN]), method)(
            _url(project, "guidelines/draft"), {"content": "changed", "schema": schema}, format="json"
        )
        assert response.status_code == 400, response.content
        assert path in response.json()["extra"]["fields"], response.json()
    after = GuidelineDraft.objects.get(project=project)
    assert (after.content, after.schema, after.updated_at) == (before.content, before.schema, before.updated_at)


def test_draft_needs_something_and_rejects_unknown_keys(project, members, api):
    client = api(members[Role.ADMIN])
    assert client.put(_url(project, "guidelines/draft"), {}, format="json").status_code == 400
    assert client.patch(_url(project, "guidelines/draft"), {"flags": ["x"]}, format="json").status_code == 400
    assert client.patch(_url(project, "guidelines/draft"), {"schema": [1]}, format="json").status_code == 400


def test_too_many_questions_is_a_400(project, members, api):
    schema = PRESETS["minimal"].as_dict()
    schema["questions"] = [{"name": f"q{i}", "type": "binary"} for i in range(40)]
    response = api(members[Role.ADMIN]).put(_url(project, "guidelines/draft"), {"schema": schema}, format="json")
    assert response.status_code == 400 and "schema.questions" in response.json()["extra"]["fields"]


def test_publish_freezes_the_draft_schema(project, members, staff, api):
    client = api(members[Role.ADMIN])
    client.put(_url(project, "guidelines/draft"), {"content": "# U", "schema": PRESETS["ultrafeedback"].as_dict()},
               format="json")  # fmt: skip
    assert client.post(_url(project, "guidelines"), {"change_note": "UF"}, format="json").status_code == 201
    client.patch(_url(project, "guidelines/draft"), {"schema": PRESETS["minimal"].as_dict()}, format="json")
    assert schema_of(GuidelineVersion.objects.get(project=project, number=1).schema) == PRESETS["ultrafeedback"]
    assert selectors.project_schema(project=project) == PRESETS["ultrafeedback"]


def test_presets_are_listed(members, api):
    body = api(members[Role.LABELER]).get("/api/v1/schema-presets").json()
    assert [p["name"] for p in body] == list(PRESETS)
    assert all(schema_of(p["schema"]) == PRESETS[p["name"]] and p["label"] for p in body)
    assert api(None).get("/api/v1/schema-presets").status_code in (401, 403)


def test_project_output_tracks_come_from_the_schema(project, members, staff, api):
    client = api(members[Role.ADMIN])
    assert client.get(_url(project)).json()["tracks"] == PRESETS["hhh"].track_names
    assert "flags" not in client.get(_url(project)).json()
    created = api(staff).post("/api/v1/projects", {"name": "HS", "preset": "helpsteer"}, format="json").json()
    assert created["tracks"] == PRESETS["helpsteer"].track_names
    listed = {p["name"]: p["tracks"] for p in api(staff).get("/api/v1/projects").json()["results"]}
    assert listed["HS"] == PRESETS["helpsteer"].track_names
    bad = api(staff).post("/api/v1/projects", {"name": "X", "preset": "hhh", "tracks": ["nope"]}, format="json")
    assert bad.status_code == 400 and "tracks" in bad.json()["extra"]["fields"], bad.json()


def test_the_readme_schema_commands_work_as_written(project, members, api):
    """README's two curl lines (GET the schema; PUT a draft schema) against a project: same paths, same body."""
    import json
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    lines = [
        line for line in readme.splitlines() if line.startswith("curl ") and ("/schema" in line or "-X PUT" in line)
    ]
    get = next(line for line in lines if line.endswith("/api/v1/projects/1/schema"))
    put = next(line for line in lines if "/guidelines/draft" in line and "-X PUT" in line)
    client = api(members[Role.ADMIN])
    path = re.sub(r"/projects/1/", f"/projects/{project.pk}/", shlex.split(get)[-1].removeprefix("localhost:8000"))
    assert client.get(path).status_code == 200
    args = shlex.split(put)
    body = json.loads(args[args.index("-d") + 1])
    path = re.sub(r"/projects/1/", f"/projects/{project.pk}/", args[-1].removeprefix("localhost:8000"))
    response = client.put(path, body, format="json")
    assert response.status_code == 200, response.content
    assert [q["name"] for q in client.get(_url(project, "schema")).json()["draft"]["schema"]["questions"]] == [
        "overall"
    ]
