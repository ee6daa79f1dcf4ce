"""No label from someone who may no longer label: every assignment action checks the member's
*current* standing (still a member, a role that labels, not quarantined), not only that the task is
theirs; removing, demoting or quarantining a member ends their live leases at once.

Runs on PostgreSQL (scripts/with-services.sh) and on SQLite (no DATABASE_URL): the claim and the
assignment read are written twice (raw SQL and the portable ORM twin)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from labelhub.core.db import consistent_read
from labelhub.core.exceptions import Conflict
from labelhub.exports.selectors import export_lines, export_params_for_project
from labelhub.labeling import services
from labelhub.labeling.models import Assignment, AssignmentStatus, Label, WorkItem
from labelhub.projects import services as project_services
from labelhub.projects.models import Membership, Role
from labelhub.quality import services as quality_services

AXES = ("helpful", "truthful", "harmless")


@pytest.fixture
def world(project, members, acked, make_prompts, sync):
    """Demonstrations and comparisons, one label each per item (overlap 1), no gold; the labeler
    acknowledged the guidelines."""
    project.demonstration_overlap = project.comparison_overlap = 1
    project.gold_rate = 0
    project.save()
    make_prompts(3, candidates=2)
    sync()
    return {"project": project, "labeler": acked(members[Role.LABELER]), "members": members}


def _lose_standing(state: str, project, user, staff) -> None:
    """Put `user` in `state`: removed, demoted (to engineer), quarantined, or their lease expired
    (the reaper freed the slot) and then removed. The `…-row` states change the membership row alone,
    leases left live (a removal from before leases were ended, or a concurrent one): the actions
    must refuse on the standing they read, not rely on the lease having ended."""
    membership = Membership.objects.get(project=project, user=user)
    if state == "removed-row":
        membership.delete()
        return
    if state == "demoted-row":
        Membership.objects.filter(pk=membership.pk).update(role=Role.ENGINEER)
        return
    if state == "expired-then-removed":
        Assignment.objects.filter(user=user).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        assert services.assignments_expire(project=project) == 1
    if state in ("removed", "expired-then-removed"):
        project_services.membership_remove(project=project, membership_id=membership.pk)
    elif state == "demoted":
        project_services.membership_set_role(project=project, membership_id=membership.pk, role=Role.ENGINEER)
    else:
        quality_services.labeler_quarantine(project=project, user_id=user.pk, actor=staff, reason="too fast")


def _ranking(item: WorkItem) -> dict:
    ids = [str(c) for c in item.candidate_ids]
    return {
        "ranks": {c: i + 1 for i, c in enumerate(ids)},
        "ratings": {c: dict.fromkeys(AXES, 5) for c in ids},
        "strength": "better",
    }


def _request(client, action: str, assignment: Assignment):
    """The API call for `action` on the assignment: the same for a token client and for the web
    workbench (static/js/workbench/ calls these routes with the session)."""
    item = assignment.work_item
    base = f"/api/v1/work-items/{item.pk}"
    if action == "read":
        return client.get(base)
    method, path, body = {
        "draft": ("PUT", f"{base}/draft", {"rationale": "late"}),
        "demonstration": ("POST", f"{base}/demonstration", {"content": "A late answer."}),
        "ranking": ("POST", f"{base}/ranking", _ranking(item)),
        "skip": ("POST", f"{base}/skip", {"reason": "late"}),
        "next": ("POST", f"/api/v1/projects/{item.project_id}/work/next", {}),
    }[action]
    return client.generic(method, path, json.dumps(body), content_type="application/json")


def _client(via: str, user, api):
    if via == "token":
        return api(user)
    client = Client()
    client.force_login(user)
    return client


def _export(project) -> list[bytes]:
    lines = []
    for kind in ("sft", "preferences"):
        params = export_params_for_project(project=project, kind=kind, raw={"exclude_quarantined": ["false"]})
        with consistent_read():
            lines += list(export_lines(project=project, params=params))
    return lines


ACTIONS = ["read", "draft", "demonstration", "ranking", "skip", "next"]
STATES = ["removed", "demoted", "quarantined", "expired-then-removed", "removed-row", "demoted-row"]
EXPECTED = {"removed": 404, "expired-then-removed": 404, "removed-row": 404, "demoted": 403, "demoted-row": 403,
            "quarantined": 403}  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("via", ["token", "session"])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_assignment_action_is_refused_once_the_member_may_no_longer_label(world, api, staff, action, state, via):
    project, labeler = world["project"], world["labeler"]
    kind = "comparison" if action == "ranking" else "demonstration"
    assignment = services.work_item_claim_next(project=project, user=labeler, kind=kind)
    services.draft_save(assignment_id=assignment.pk, user=labeler, payload={"rationale": "half done"})
    exported = _export(project)
    _lose_standing(state, project, labeler, staff)
    before = Assignment.objects.get(pk=assignment.pk)
    taken = WorkItem.objects.get(pk=assignment.work_item_id).taken
    if state.endswith("-row"):
        assert before.status == AssignmentStatus.ACTIVE and taken == 1
    else:
        assert before.status == AssignmentStatus.EXPIRED and taken == 0  # the lease ended, the slot is free

    response = _request(_client(via, labeler, api), action, assignment)

    assert response.status_code == EXPECTED[state], response.content
    body = response.json()
    assert set(body) >= {"message", "extra"} and body["message"], body
    after = Assignment.objects.get(pk=assignment.pk)
    assert (after.status, after.draft, after.lease_expires_at) == (before.status, before.draft, before.lease_expires_at)
    assert after.draft == {"rationale": "half done"}  # the draft stays stored
    assert WorkItem.objects.get(pk=assignment.work_item_id).taken == taken
    assert not Label.objects.exists()
    assert Assignment.objects.filter(user=labeler).count() == 1  # no new claim either
    assert _export(project) == exported


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["removed", "demoted", "quarantined"])
def test_losing_the_right_to_label_frees_the_slots_at_once(world, staff, state):
    """Both held tasks end now (not when the lease runs out); someone else gets the items right away."""
    project, labeler = world["project"], world["labeler"]
    held = services.work_item_claim_next(project=project, user=labeler, kind="demonstration")
    # A second live lease (two tabs claiming at the same moment can leave one) ends too.
    other = WorkItem.objects.filter(kind="comparison").first()
    now = timezone.now()
    Assignment.objects.create(
        work_item=other, user=labeler, claimed_at=now, lease_expires_at=now + timedelta(hours=1), display_order=[]
    )
    WorkItem.objects.filter(pk=other.pk).update(taken=1)
    items = [held.work_item_id, other.pk]
    assert list(WorkItem.objects.filter(pk__in=items).values_list("taken", flat=True)) == [1, 1]

    _lose_standing(state, project, labeler, staff)

    assert set(Assignment.objects.filter(user=labeler).values_list("status", flat=True)) == {"expired"}
    assert list(WorkItem.objects.filter(pk__in=items).values_list("taken", flat=True)) == [0, 0]
    newcomer = world["members"][Role.REVIEWER]
    project_services.guideline_acknowledge(project=project, user=newcomer, number=1)
    got = services.work_item_claim_next(project=project, user=newcomer, kind="demonstration")
    assert got.work_item_id == items[0]


@pytest.mark.django_db
def test_a_role_that_still_labels_keeps_its_leases(world):
    project, labeler = world["project"], world["labeler"]
    held = services.work_item_claim_next(project=project, user=labeler)
    membership = Membership.objects.get(project=project, user=labeler)
    project_services.membership_set_role(project=project, membership_id=membership.pk, role=Role.REVIEWER)
    assert Assignment.objects.get(pk=held.pk).status == AssignmentStatus.ACTIVE
    assert WorkItem.objects.get(pk=held.work_item_id).taken == 1


@pytest.mark.django_db
def test_a_quarantined_labelers_late_label_never_takes_the_freed_slot(world, api, staff):
    """Quarantine frees the slot; the late submit is refused (it used to reopen the expired lease and
    take the slot back), someone else labels the item, and release brings back nothing new."""
    project, labeler = world["project"], world["labeler"]
    mine = services.work_item_claim_next(project=project, user=labeler, kind="demonstration")
    quality_services.labeler_quarantine(project=project, user_id=labeler.pk, actor=staff, reason="too fast")
    url = f"/api/v1/work-items/{mine.work_item_id}/demonstration"
    response = api(labeler).post(url, {"content": "Late."}, format="json")
    assert response.status_code == 403 and response.json()["message"].startswith("Your labeling in this project")
    assert WorkItem.objects.get(pk=mine.work_item_id).taken == 0
    other = world["members"][Role.REVIEWER]
    project_services.guideline_acknowledge(project=project, user=other, number=1)
    theirs = services.work_item_claim_next(project=project, user=other, kind="demonstration")
    assert theirs.work_item_id == mine.work_item_id
    services.demonstration_submit(assignment_id=theirs.pk, user=other, content="On time.")
    quality_services.labeler_release(project=project, user_id=labeler.pk, actor=staff, reason="fine")
    assert list(Label.objects.values_list("user_id", "content")) == [(other.pk, "On time.")]
    item = WorkItem.objects.get(pk=mine.work_item_id)
    assert (item.taken, item.label_count) == (1, 1)
    # Released, the labeler's expired assignment cannot take a slot the item no longer has.
    response = api(labeler).post(url, {"content": "Late."}, format="json")
    assert response.status_code == 409 and response.json()["extra"]["reason"] == "lease_expired"
    assert Label.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_lease_is_reopened_only_for_a_member_who_may_label(world):
    """The reopen UPDATE itself checks the standing (a removal that commits between the assignment's
    read and this UPDATE must not let the late label in)."""
    project, labeler = world["project"], world["labeler"]
    mine = services.work_item_claim_next(project=project, user=labeler, kind="demonstration")
    Assignment.objects.filter(pk=mine.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    services.assignments_expire(project=project)
    stale = Assignment.objects.get(pk=mine.pk)  # read while they were still a member
    Membership.objects.filter(project=project, user=labeler).delete()  # then removed (no signal: the race)
    with pytest.raises(Conflict):
        services._ensure_live(stale)
    assert WorkItem.objects.get(pk=mine.work_item_id).taken == 0
    Membership.objects.create(project=project, user=labeler, role=Role.LABELER)  # back: the slot is theirs again
    services._ensure_live(stale)
    assert WorkItem.objects.get(pk=mine.work_item_id).taken == 1


@pytest.mark.django_db
def test_a_member_added_back_claims_their_expired_task_back(world, staff):
    project, labeler = world["project"], world["labeler"]
    mine = services.work_item_claim_next(project=project, user=labeler, kind="demonstration")
    services.draft_save(assignment_id=mine.pk, user=labeler, payload={"content": "kept"})
    membership = Membership.objects.get(project=project, user=labeler)
    project_services.membership_remove(project=project, membership_id=membership.pk)
    project_services.membership_add(project=project, username=labeler.username, role=Role.LABELER)
    again = services.work_item_claim_next(project=project, user=labeler, kind="demonstration")
    assert again.pk == mine.pk and again.status == AssignmentStatus.ACTIVE and again.draft == {"content": "kept"}
    assert WorkItem.objects.get(pk=mine.work_item_id).taken == 1


# --- web pages ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("state", "status"), [("removed", 404), ("demoted", 403), ("expired-then-removed", 404)])
def test_the_workbench_page_is_refused_too(world, staff, state, status):
    project, labeler = world["project"], world["labeler"]
    services.work_item_claim_next(project=project, user=labeler)
    _lose_standing(state, project, labeler, staff)
    client = Client()
    client.force_login(labeler)
    assert client.get(f"/projects/{project.pk}/label/").status_code == status


ADMIN_ROUTES = ["api-delete", "api-role", "web-remove", "web-role", "api-quarantine", "web-quarantine"]


@pytest.mark.django_db
@pytest.mark.parametrize("via", ADMIN_ROUTES)
def test_the_admin_routes_end_the_leases_too(world, api, staff, via):
    """What admins click or call (not only the services): the labeler's slot is free when it returns."""
    project, labeler = world["project"], world["labeler"]
    held = services.work_item_claim_next(project=project, user=labeler)
    membership = Membership.objects.get(project=project, user=labeler)
    web = Client()
    web.force_login(staff)
    if via == "api-delete":
        response = api(staff).delete(f"/api/v1/projects/{project.pk}/members/{membership.pk}")
    elif via == "api-role":
        url = f"/api/v1/projects/{project.pk}/members/{membership.pk}"
        response = api(staff).patch(url, {"role": Role.ENGINEER}, format="json")
    elif via == "web-remove":
        response = web.post(f"/projects/{project.pk}/members/{membership.pk}/remove/")
    elif via == "web-role":
        response = web.post(f"/projects/{project.pk}/members/{membership.pk}/role/", {"role": Role.ENGINEER})
    elif via == "api-quarantine":
        url = f"/api/v1/projects/{project.pk}/labelers/{labeler.pk}/quarantine"
        response = api(staff).post(url, {"reason": "too fast"}, format="json")
    else:
        response = web.post(f"/projects/{project.pk}/quality/labelers/{labeler.pk}/quarantine/", {"reason": "fast"})
    assert response.status_code in (200, 201, 204, 302), response.content
    assert Assignment.objects.get(pk=held.pk).status == AssignmentStatus.EXPIRED
    assert WorkItem.objects.get(pk=held.work_item_id).taken == 0
