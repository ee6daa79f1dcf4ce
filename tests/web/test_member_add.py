"""Adding a member does not tell a project admin which usernames exist outside their projects.

Site staff (who manage accounts) add anyone. A project admin who is not staff adds people they already
share a project with; any other name, existing or not, active or not, gets one and the same answer."""

import re

import pytest
from django.urls import reverse

from labelhub.projects.models import Membership, Role
from labelhub.projects.selectors import user_addable_by
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(project, members, make_project):
    """`admin-user` (not staff) administers Alpha; `colleague` works with them on Side; `stranger`
    exists in another project only; `retired` is an inactive colleague; `ghost` does not exist."""
    admin = members[Role.ADMIN]
    assert not admin.is_staff
    side, elsewhere = make_project("Side"), make_project("Elsewhere")
    colleague, stranger = UserFactory(username="colleague"), UserFactory(username="stranger")
    retired = UserFactory(username="retired", is_active=False)
    for project_, user in ((side, admin), (side, colleague), (side, retired), (elsewhere, stranger)):
        Membership.objects.create(project=project_, user=user, role=Role.LABELER)
    return {"admin": admin, "colleague": colleague, "stranger": stranger}


def _refusals(send):
    """The answers to an existing stranger, an inactive colleague and a name nobody has: only the
    name itself may differ."""
    return {name: send(name) for name in ("stranger", "retired", "ghost")}


def _same_but_the_name(answers):
    normalised = {text.replace(name, "NAME") for name, text in answers.items()}
    assert len(normalised) == 1, answers


def test_api_answers_alike_for_strangers_inactive_users_and_unknown_names(project, people, api):
    client = api(people["admin"])
    url = f"/api/v1/projects/{project.pk}/members"

    def send(name):
        response = client.post(url, {"username": name, "role": "labeler"}, format="json")
        assert response.status_code == 400
        return response.content.decode()

    answers = _refusals(send)
    _same_but_the_name(answers)
    assert "shares a project with you" in answers["ghost"]
    assert not Membership.objects.filter(project=project, user=people["stranger"]).exists()
    # A colleague from another project is added: the admin knows them already.
    added = client.post(url, {"username": "colleague", "role": "reviewer"}, format="json")
    assert added.status_code == 201 and added.json()["username"] == "colleague"


def test_members_page_answers_alike_and_adds_a_colleague(project, people, client_for):
    client = client_for(people["admin"])
    url = reverse("projects:members", args=[project.pk])

    def send(name):
        response = client.post(url, {"username": name, "role": Role.LABELER})
        assert response.status_code == 400
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
        return html[html.index('id="add-title"') :]  # the add form and its errors

    _same_but_the_name(_refusals(send))
    response = client.post(url, {"username": "colleague", "role": Role.LABELER})
    assert response.status_code == 302
    assert Membership.objects.filter(project=project, user=people["colleague"]).exists()


def test_staff_add_any_active_user(project, people, staff, api):
    url = f"/api/v1/projects/{project.pk}/members"
    assert api(staff).post(url, {"username": "stranger", "role": "labeler"}, format="json").status_code == 201
    refused = api(staff).post(url, {"username": "retired", "role": "labeler"}, format="json")
    assert refused.status_code == 400 and refused.json()["extra"]["fields"]["username"] == ["Unknown user."]


def test_user_addable_by(project, people, staff):
    admin = people["admin"]
    assert user_addable_by(adder=admin, username=" colleague ") == people["colleague"]
    assert user_addable_by(adder=admin, username="labeler-user") is not None  # a member of Alpha
    for name in ("stranger", "retired", "ghost", ""):
        assert user_addable_by(adder=admin, username=name) is None
    assert user_addable_by(adder=staff, username="stranger") == people["stranger"]
    assert user_addable_by(adder=staff, username="retired") is None


def test_no_page_or_endpoint_lists_users_outside_the_admins_projects(project, people, client_for, api):
    """No autocomplete, no user search: the members page and API name the project's members only."""
    html = client_for(people["admin"]).get(reverse("projects:members", args=[project.pk])).content.decode()
    api_body = api(people["admin"]).get(f"/api/v1/projects/{project.pk}/members").content.decode()
    for text in (html, api_body):
        assert "labeler-user" in text
        assert "colleague" not in text and "stranger" not in text
    assert "<datalist" not in html
