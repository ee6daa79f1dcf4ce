import pytest
from django.urls import reverse

from labelhub.projects import selectors
from labelhub.projects.models import GuidelineDraft, Membership, Project, Role
from labelhub.projects.rubric import PRESETS, schema_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_project_list_shows_my_projects_with_role_badges(site, client_for, make_project):
    make_project("Not mine")
    html = client_for(site["members"][Role.REVIEWER]).get(reverse("projects:list")).content.decode()
    assert site["project"].name in html
    assert "Not mine" not in html
    assert "badge-reviewer" in html
    assert reverse("projects:create") not in html  # not staff


def test_staff_see_new_project_link_and_can_create(client_for, staff):
    client = client_for(staff)
    assert reverse("projects:create") in client.get(reverse("projects:list")).content.decode()
    assert client.get(reverse("projects:create")).status_code == 200
    response = client.post(
        reverse("projects:create"),
        {
            "name": "Beta",
            "description": "About <b>beta</b>",
            "preset": "helpsteer",
            "demonstration_overlap": 1,
            "comparison_overlap": 3,
            "candidates_per_prompt": 2,
        },
    )
    project = Project.objects.get(name="Beta")
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:detail", args=[project.pk])
    assert schema_of(GuidelineDraft.objects.get(project=project).schema) == PRESETS["helpsteer"]
    assert Membership.objects.get(project=project, user=staff).role == Role.ADMIN
    html = client.get(response["Location"]).content.decode()
    assert "About &lt;b&gt;beta&lt;/b&gt;" in html
    for track in PRESETS["helpsteer"].tracks:  # the overview's track badges come from the schema
        assert f'title="{track.name}">{track.label}</span>' in html


def test_create_form_offers_the_presets_and_defaults_to_hhh(client_for, staff):
    client = client_for(staff)
    html = client.get(reverse("projects:create")).content.decode()
    for name in PRESETS:
        assert f'value="{name}"' in html
    assert client.post(reverse("projects:create"), {"name": "Plain", "demonstration_overlap": 1,
                       "comparison_overlap": 3, "candidates_per_prompt": 2}).status_code == 302  # fmt: skip
    assert schema_of(GuidelineDraft.objects.get(project__name="Plain").schema) == PRESETS["hhh"]
    bad = client.post(reverse("projects:create"), {"name": "Odd", "preset": "nope", "demonstration_overlap": 1,
                      "comparison_overlap": 3, "candidates_per_prompt": 2})  # fmt: skip
    assert bad.status_code == 400 and not Project.objects.filter(name="Odd").exists()


def test_create_project_with_invalid_settings_shows_errors(client_for, staff):
    response = client_for(staff).post(
        reverse("projects:create"),
        {
            "name": "",
            "demonstration_overlap": 0,
            "comparison_overlap": 3,
            "candidates_per_prompt": 12,
        },
    )
    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert not Project.objects.exists()


def test_non_staff_cannot_create_projects(client_for):
    client = client_for(UserFactory())
    assert client.get(reverse("projects:create")).status_code == 403
    assert client.post(reverse("projects:create"), {"name": "X"}).status_code == 403
    assert not Project.objects.exists()


def test_overview_shows_counts_and_acknowledge_button(site, client_for):
    labeler = site["members"][Role.LABELER]
    client = client_for(labeler)
    url = reverse("projects:detail", args=[site["project"].pk])
    html = client.get(url).content.decode()
    assert "Acknowledge version 2" in html
    assert "<dd>3</dd>" in html  # prompts
    assert reverse("projects:members", args=[site["project"].pk]) not in html  # admins only
    response = client.post(reverse("projects:guideline-acknowledge", args=[site["project"].pk]), {"number": 2})
    assert response.status_code == 302
    assert selectors.guideline_acknowledged_number(project=site["project"], user=labeler) == 2
    html = client.get(url).content.decode()
    assert "Acknowledge version 2" not in html


def test_acknowledging_an_old_version_is_refused_politely(site, client_for):
    labeler = site["members"][Role.LABELER]
    client = client_for(labeler)
    response = client.post(
        reverse("projects:guideline-acknowledge", args=[site["project"].pk]), {"number": 1}, follow=True
    )
    assert response.status_code == 200
    assert b"flash-error" in response.content
    assert selectors.guideline_acknowledged_number(project=site["project"], user=labeler) is None


def test_admin_sees_admin_links(site, client_for, staff):
    html = client_for(staff).get(reverse("projects:detail", args=[site["project"].pk])).content.decode()
    for name in (
        "projects:members",
        "projects:settings",
        "projects:guideline-edit",
        "projects:prompts:import",
    ):
        assert reverse(name, args=[site["project"].pk]) in html


def test_settings_form_updates_the_project(site, client_for, staff):
    url = reverse("projects:settings", args=[site["project"].pk])
    client = client_for(staff)
    assert b'value="Alpha"' in client.get(url).content
    response = client.post(
        url,
        {
            "name": "Alpha 2",
            "description": "",
            "demonstration_overlap": 2,
            "comparison_overlap": 5,
            "candidates_per_prompt": 4,
            "comparisons_enabled": "on",
            "lease_minutes": 45,
            "gold_rate": 0.2,
            "max_overlap": 7,
            "min_item_agreement": 0.5,
        },
    )
    assert response.status_code == 302
    project = Project.objects.get(pk=site["project"].pk)
    assert (project.name, project.candidates_per_prompt) == ("Alpha 2", 4)
    assert (project.demonstrations_enabled, project.comparisons_enabled, project.lease_minutes) == (False, True, 45)
    assert (project.gold_rate, project.max_overlap, project.min_item_agreement) == (0.2, 7, 0.5)
    bad = client.post(url, {"name": "x", "demonstration_overlap": 1, "comparison_overlap": 1,
                            "candidates_per_prompt": 2, "lease_minutes": 0})  # fmt: skip
    assert bad.status_code == 400 and Project.objects.get(pk=project.pk).lease_minutes == 45


def test_settings_page_has_no_tracks_or_flags_and_points_to_the_schema(site, client_for, staff):
    url = reverse("projects:settings", args=[site["project"].pk])
    html = client_for(staff).get(url).content.decode()
    assert 'name="flags"' not in html and 'name="tracks"' not in html
    assert reverse("projects:guideline-edit", args=[site["project"].pk]) in html
    assert not hasattr(Project, "tracks") and not hasattr(Project, "flags")


def test_members_add_change_role_and_remove(site, client_for, staff):
    project = site["project"]
    client = client_for(staff)
    url = reverse("projects:members", args=[project.pk])
    html = client.get(url).content.decode()
    assert "labeler-user" in html
    newbie = UserFactory(username="newbie")
    response = client.post(url, {"username": "newbie", "role": Role.LABELER})
    assert response.status_code == 302
    membership = Membership.objects.get(project=project, user=newbie)
    response = client.post(reverse("projects:member-role", args=[project.pk, membership.pk]), {"role": Role.REVIEWER})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.REVIEWER
    response = client.post(reverse("projects:member-remove", args=[project.pk, membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_add_member_errors_are_form_errors(site, client_for, staff):
    client = client_for(staff)
    url = reverse("projects:members", args=[site["project"].pk])
    response = client.post(url, {"username": "ghost", "role": Role.LABELER})
    assert response.status_code == 400
    assert "No active user named" in response.content.decode()
    response = client.post(url, {"username": "labeler-user", "role": Role.LABELER})
    assert response.status_code == 400
    assert "already a member" in response.content.decode()


def test_last_admin_cannot_be_demoted_or_removed(make_project, client_for, staff):
    project = make_project("Solo")  # staff is the only admin
    mine = Membership.objects.get(project=project, user=staff)
    client = client_for(staff)
    response = client.post(reverse("projects:member-role", args=[project.pk, mine.pk]), {"role": Role.LABELER})
    assert response.status_code == 409
    assert "at least one admin" in response.content.decode()
    response = client.post(reverse("projects:member-remove", args=[project.pk, mine.pk]))
    assert response.status_code == 409
    assert "at least one admin" in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.ADMIN


def test_membership_of_another_project_is_404(site, client_for, staff, make_project):
    other = make_project("Other")
    foreign = Membership.objects.get(project=other, user=staff)
    url = reverse("projects:member-remove", args=[site["project"].pk, foreign.pk])
    assert client_for(staff).post(url).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()
