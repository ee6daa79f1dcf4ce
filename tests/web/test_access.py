"""Role matrix for the pages: each role x each page is 200 or 403; outsiders get 404;
anonymous visitors are sent to the login page."""

import pytest
from django.urls import reverse

from labelhub.projects.models import Role
from labelhub.projects.permissions import Capability, role_can

pytestmark = pytest.mark.django_db

PAGES = [
    ("projects:detail", {}, Capability.VIEW),
    ("projects:guidelines", {}, Capability.VIEW),
    ("projects:guideline-version", {"number": 1}, Capability.VIEW),
    ("projects:guideline-diff", {}, Capability.VIEW),
    ("projects:guideline-edit", {}, Capability.MANAGE),
    ("projects:members", {}, Capability.MANAGE),
    ("projects:settings", {}, Capability.MANAGE),
    ("projects:prompts:list", {}, Capability.VIEW),
    ("projects:prompts:detail", {"prompt_id": "prompt"}, Capability.VIEW),
    ("projects:prompts:import", {}, Capability.MANAGE),
    ("projects:prompts:import-detail", {"import_id": "import"}, Capability.MANAGE),
    ("projects:labeling:mine", {}, Capability.LABEL),
    ("projects:evaluation:sets", {}, Capability.EVALUATE),
    ("projects:evaluation:set-create", {}, Capability.EVALUATE),
]
IDS = [name for name, _, _ in PAGES]


def _url(site, name, kwargs):
    resolved = {"project_id": site["project"].pk}
    for key, value in kwargs.items():
        resolved[key] = site[value].pk if isinstance(value, str) else value
    return reverse(name, kwargs=resolved)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LABELER, Role.REVIEWER, Role.ENGINEER])
@pytest.mark.parametrize(("name", "kwargs", "capability"), PAGES, ids=IDS)
def test_members_get_200_or_403_by_role(site, client_for, role, name, kwargs, capability):
    response = client_for(site["members"][role]).get(_url(site, name, kwargs))
    assert response.status_code == (200 if role_can(role, capability) else 403)


@pytest.mark.parametrize(("name", "kwargs", "capability"), PAGES, ids=IDS)
def test_non_members_get_404(site, client_for, name, kwargs, capability):
    response = client_for(site["members"]["outsider"]).get(_url(site, name, kwargs))
    assert response.status_code == 404
    assert site["project"].name not in response.content.decode()


@pytest.mark.parametrize(("name", "kwargs", "capability"), PAGES, ids=IDS)
def test_anonymous_is_sent_to_login(site, client_for, name, kwargs, capability):
    url = _url(site, name, kwargs)
    response = client_for(None).get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_unknown_project_is_404(db, client_for, staff):
    assert client_for(staff).get(reverse("projects:detail", args=[999999])).status_code == 404


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("projects:guideline-version", [99]),
        ("projects:prompts:detail", [999999]),
        ("projects:prompts:import-detail", [999999]),
    ],
)
def test_unknown_objects_in_my_project_are_404(site, client_for, staff, name, args):
    assert client_for(staff).get(reverse(name, args=[site["project"].pk, *args])).status_code == 404


def test_prompt_of_another_project_is_404(site, client_for, staff, make_project, import_prompts):
    other = make_project("Other")
    import_prompts(other, [{"prompt": "Elsewhere"}])
    foreign = other.prompts.get()
    url = reverse("projects:prompts:detail", args=[site["project"].pk, foreign.pk])
    assert client_for(staff).get(url).status_code == 404


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("projects:member-role", ["membership"]),
        ("projects:member-remove", ["membership"]),
        ("projects:guideline-edit", []),
    ],
)
def test_admin_only_posts_are_403_for_labelers_and_404_for_outsiders(site, client_for, name, args):
    labeler = site["members"][Role.LABELER]
    membership = site["project"].memberships.get(user=labeler)
    url = reverse(name, args=[site["project"].pk, *[membership.pk for _ in args]])
    data = {"role": Role.ADMIN, "action": "save", "content": "x"}
    assert client_for(labeler).post(url, data).status_code == 403
    assert client_for(site["members"]["outsider"]).post(url, data).status_code == 404
    membership.refresh_from_db()
    assert membership.role == Role.LABELER


def test_error_pages_use_the_site_layout(site, client_for):
    response = client_for(site["members"][Role.LABELER]).get(reverse("projects:members", args=[site["project"].pk]))
    assert response.status_code == 403
    assert b'class="topbar"' in response.content


# Evaluation triage (a finished run with a condemned answer, built with the ORM) ---------------------

TRIAGE_PAGES = [("projects:evaluation:triage", "run_id"), ("projects:evaluation:triage-summary", "set_id")]


@pytest.fixture
def triage_site(site, staff):
    from labelhub.evaluation.services.triage import triage_items_create
    from labelhub.projects.selectors import guideline_version_current
    from tests.evaluation import triage_builders as tb

    evaluation_set = tb.evaluation_set(site["project"], [site["prompt"]])
    run = tb.run(evaluation_set)
    version = guideline_version_current(project=site["project"])
    tb.judge(tb.pair(run, site["prompt"]), site["members"][Role.LABELER], version, result="loss")
    triage_items_create(run=run)
    return {**site, "run_id": run.pk, "set_id": evaluation_set.pk}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LABELER, Role.REVIEWER, Role.ENGINEER, "outsider", None])
@pytest.mark.parametrize(("name", "key"), TRIAGE_PAGES)
def test_triage_pages_by_role(triage_site, client_for, role, name, key):
    url = reverse(name, kwargs={"project_id": triage_site["project"].pk, key: triage_site[key]})
    user = triage_site["members"][role] if role else None
    response = client_for(user).get(url)
    expected = 302 if role is None else 404 if role == "outsider" else 200 if role_can(role, Capability.TRIAGE) else 403
    assert response.status_code == expected
