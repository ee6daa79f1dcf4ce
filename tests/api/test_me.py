"""/api/v1/me: the user's own fields (accounts.apis) and their projects with their role (projects.apis,
above accounts, extends it): one response, the same as when accounts listed the projects itself."""

import pytest
import yaml

from labelhub.projects import services

from ..factories import UserFactory


@pytest.mark.django_db
def test_me_lists_the_users_own_fields_and_projects_with_roles(api, make_project, staff):
    alpha, beta = make_project("Alpha"), make_project("Beta")
    make_project("Gamma")  # not a member
    user = UserFactory(username="ada", display_name="Ada L.")
    services.membership_add(project=alpha, username="ada", role="labeler")
    services.membership_add(project=beta, username="ada", role="reviewer")
    body = api(user).get("/api/v1/me").json()
    assert list(body) == ["id", "username", "display_name", "is_staff", "projects"]
    assert {k: body[k] for k in ("id", "username", "display_name", "is_staff")} == {
        "id": user.pk, "username": "ada", "display_name": "Ada L.", "is_staff": False,
    }  # fmt: skip
    assert sorted(body["projects"], key=lambda p: p["id"]) == [
        {"id": alpha.pk, "name": "Alpha", "role": "labeler"},
        {"id": beta.pk, "name": "Beta", "role": "reviewer"},
    ]
    assert api(UserFactory(username="nobody")).get("/api/v1/me").json()["projects"] == []


@pytest.mark.django_db
def test_me_in_the_schema(admin_client):
    schema = yaml.safe_load(admin_client.get("/api/schema/").content)
    operation = schema["paths"]["/api/v1/me"]["get"]
    assert operation["summary"] == "Who am I, and my roles" and "description" not in operation
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/MeOutput"
    assert list(schema["components"]["schemas"]["MeOutput"]["properties"]) == [
        "id", "username", "display_name", "is_staff", "projects",
    ]  # fmt: skip
