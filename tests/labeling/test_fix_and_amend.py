"""Fixing a rejected label (reopen → fix → resubmit, the rejected one kept as history) and amending
a submitted one within its lease ("back to my previous task")."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from labelhub.core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from labelhub.exports.selectors import labels_for_export
from labelhub.labeling import selectors, services
from labelhub.labeling.models import Assignment, AssignmentStatus, Label, ReviewStatus, WorkItem
from labelhub.projects import services as project_services
from labelhub.projects.models import Membership, Role
from labelhub.quality import services as quality_services
from tests.factories import UserFactory

AXES = ("helpful", "truthful", "harmless")


def _ranking(item, first=0, score=5):
    ids = [str(c) for c in item.candidate_ids]
    ids = ids[first:] + ids[:first]
    return {
        "ranks": {cid: i + 1 for i, cid in enumerate(ids)},
        "ratings": {cid: dict.fromkeys(AXES, score) for cid in ids},
        "strength": "better",
    }


def _comparisons_only(project, make_prompts, sync, prompts=1, **settings):
    """A comparison-only project without gold (`settings` on top), `prompts` K = 2 prompts, their items."""
    project.demonstrations_enabled = False
    project.gold_rate = 0
    for name, value in settings.items():
        setattr(project, name, value)
    project.save()
    make_prompts(prompts, candidates=2)
    sync()


@pytest.fixture
def rejected(project, members, acked, make_prompts, sync):
    """A comparison item (overlap 2) whose label by the labeler a reviewer rejected."""
    _comparisons_only(project, make_prompts, sync, comparison_overlap=2)
    labeler, reviewer = acked(members[Role.LABELER]), acked(members[Role.REVIEWER])
    task = services.work_item_claim_next(project=project, user=labeler)
    label = services.ranking_submit(assignment_id=task.pk, user=labeler, payload=_ranking(task.work_item))
    services.label_review(label_id=label.pk, reviewer=reviewer, accept=False, comment="Rank B first: A is wrong.")
    return {"labeler": labeler, "reviewer": reviewer, "label": label, "item": task.work_item}


def _two_labelers_one_item(project, members, acked, make_prompts, sync):
    """A comparison-only project with one K = 2 item that wants two labels, and two labelers who
    acknowledged the guidelines."""
    _comparisons_only(project, make_prompts, sync, comparison_overlap=2, max_overlap=2)
    a, b = acked(members[Role.LABELER]), UserFactory(username="second-labeler")
    project_services.membership_add(project=project, username=b.username, role=Role.LABELER)
    acked(b)
    return a, b


def _counts(item):
    item.refresh_from_db()
    return item.taken, item.label_count


@pytest.mark.django_db
def test_reopen_fix_resubmit_writes_a_new_pending_label_and_keeps_the_rejected_one(project, rejected, api):
    labeler, old, item = rejected["labeler"], rejected["label"], rejected["item"]
    assert _counts(item) == (0, 0)
    reopened = services.label_reopen(user=labeler, label_id=old.pk)
    assert reopened.pk == old.assignment_id and reopened.status == AssignmentStatus.ACTIVE
    assert reopened.lease_expires_at > timezone.now() and _counts(item) == (1, 0)
    # The workbench opens it pre-filled, with the reviewer's comment.
    task = api(labeler).get(f"/api/v1/work-items/{item.pk}").json()
    assert task["review_comment"] == "Rank B first: A is wrong." and task["reopened_from"] == old.pk
    assert task["draft"]["ranks"] == old.ranks and task["draft"]["answers"][str(item.candidate_ids[0])]["helpful"] == 5
    # Reopening again (a second click) changes nothing.
    assert services.label_reopen(user=labeler, label_id=old.pk).pk == reopened.pk and _counts(item) == (1, 0)
    fixed = services.ranking_submit(work_item_id=item.pk, user=labeler, payload=_ranking(item, first=1, score=6))
    assert fixed.pk != old.pk and fixed.supersedes_id == old.pk and fixed.review_status == ReviewStatus.PENDING
    assert _counts(item) == (1, 1)
    old.refresh_from_db()
    assert old.review_status == ReviewStatus.REJECTED  # history kept
    # My labels: both, newest first; the rejected one is no longer fixable.
    page = selectors.my_labels_page(project=project, user=labeler)
    assert [lb.pk for lb in page["labels"]] == [fixed.pk, old.pk]
    assert [lb.fixable for lb in page["labels"]] == [False, False]
    # Exports (not-rejected, the default) and quality read the fix only.
    from labelhub.exports.params import ExportParams

    params = ExportParams(kind="rankings", format="jsonl")
    assert [lb.pk for lb in labels_for_export(project=project, params=params)] == [fixed.pk]
    with pytest.raises(Conflict, match="already fixed"):
        services.label_reopen(user=labeler, label_id=old.pk)


@pytest.mark.django_db
def test_reopen_refusals(project, members, acked, rejected, staff):
    labeler, old, item = rejected["labeler"], rejected["label"], rejected["item"]
    with pytest.raises(NotFound):
        services.label_reopen(user=rejected["reviewer"], label_id=old.pk)  # not theirs
    with pytest.raises(NotFound):
        services.label_reopen(user=labeler, label_id="x")
    # The guidelines changed: acknowledge them first (the task is claimed under the current version).
    v2 = project_services.guideline_version_publish(project=project, user=staff, change_note="v2", content="# v2")
    with pytest.raises(services.GuidelinesNotAcknowledged):
        services.label_reopen(user=labeler, label_id=old.pk)
    project_services.guideline_acknowledge(project=project, user=labeler, number=v2.number)
    # Quarantined: paused.
    admin = members[Role.ADMIN]
    quality_services.labeler_quarantine(project=project, user_id=labeler.pk, actor=admin, reason="spot check")
    with pytest.raises(Forbidden, match="paused"):
        services.label_reopen(user=labeler, label_id=old.pk)
    quality_services.labeler_release(project=project, user_id=labeler.pk, actor=admin, reason="fine")
    # No longer a labeling role.
    membership = Membership.objects.get(project=project, user=labeler)
    project_services.membership_set_role(project=project, membership_id=membership.pk, role=Role.ENGINEER)
    with pytest.raises(Forbidden):
        services.label_reopen(user=labeler, label_id=old.pk)
    project_services.membership_set_role(project=project, membership_id=membership.pk, role=Role.LABELER)
    # The item no longer wants it: two others filled its overlap.
    for name in ("filler-1", "filler-2"):
        other = UserFactory(username=name)
        project_services.membership_add(project=project, username=other.username, role=Role.LABELER)
        project_services.guideline_acknowledge(project=project, user=other, number=v2.number)
        task = services.work_item_claim_next(project=project, user=other)
        services.ranking_submit(assignment_id=task.pk, user=other, payload=_ranking(item))
    with pytest.raises(Conflict, match="all the labels it needs") as err:
        services.label_reopen(user=labeler, label_id=old.pk)
    assert err.value.extra["reason"] == "item_full" and _counts(item) == (2, 2)
    assert Assignment.objects.get(pk=old.assignment_id).status == AssignmentStatus.REJECTED


@pytest.mark.django_db
def test_only_a_rejected_label_reopens_and_under_the_current_guidelines(project, rejected, staff):
    labeler, old = rejected["labeler"], rejected["label"]
    v2 = project_services.guideline_version_publish(project=project, user=staff, change_note="v2", content="# v2")
    project_services.guideline_acknowledge(project=project, user=labeler, number=v2.number)
    reopened = services.label_reopen(user=labeler, label_id=old.pk)
    assert reopened.guideline_version_id == v2.pk != old.guideline_version_id
    fixed = services.ranking_submit(assignment_id=reopened.pk, user=labeler, payload=_ranking(old.work_item))
    assert fixed.guideline_version_id == v2.pk
    with pytest.raises(Conflict, match="pending"):
        services.label_reopen(user=labeler, label_id=fixed.pk)


@pytest.mark.django_db
def test_amend_within_the_lease_replaces_the_label_in_place(project, members, acked, make_prompts, sync, api):
    _comparisons_only(project, make_prompts, sync)
    labeler = acked(members[Role.LABELER])
    client = api(labeler)
    task = services.work_item_claim_next(project=project, user=labeler)
    item = task.work_item
    url = f"/api/v1/work-items/{item.pk}/ranking"
    first = client.post(url, _ranking(item), format="json").json()
    # POST with other content is still the double-submit guard; PUT amends.
    assert client.post(url, _ranking(item, first=1), format="json").status_code == 409
    bad = client.put(url, {"ranks": {"1": 1}}, format="json")
    assert bad.status_code == 400
    amended = client.put(url, _ranking(item, first=1, score=3), format="json")
    assert amended.status_code == 200 and amended.json()["id"] == first["id"]
    label = Label.objects.get()
    assert label.ranks[str(item.candidate_ids[1])] == 1 and label.ratings[str(item.candidate_ids[0])]["helpful"] == 3
    assert _counts(item) == (1, 1) and Label.objects.count() == 1
    # After the lease: refused, saying why.
    Assignment.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    late = client.put(url, _ranking(item), format="json")
    assert late.status_code == 409 and late.json()["extra"]["reason"] == "lease_expired"
    Assignment.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() + timedelta(minutes=5))
    # After review: refused.
    reviewer = acked(members[Role.REVIEWER])
    services.label_review(label_id=label.pk, reviewer=reviewer, accept=True)
    reviewed = client.put(url, _ranking(item), format="json")
    assert reviewed.status_code == 409 and reviewed.json()["extra"]["reason"] == "reviewed"


@pytest.mark.django_db
def test_amend_a_demonstration_and_refusals(project, members, acked, make_prompts, sync, api):
    project.comparisons_enabled = False
    project.gold_rate = 0
    project.save()
    make_prompts(2)
    sync()
    labeler = acked(members[Role.LABELER])
    client = api(labeler)
    task = services.work_item_claim_next(project=project, user=labeler)
    url = f"/api/v1/work-items/{task.work_item_id}/demonstration"
    held = client.put(url, {"content": "too early"}, format="json")
    assert held.status_code == 409 and held.json()["extra"]["reason"] == "not_submitted"
    client.post(url, {"content": "First try."}, format="json")
    assert client.put(url, {"content": "Second, better."}, format="json").json()["content"] == "Second, better."
    assert Label.objects.get().content == "Second, better."
    with pytest.raises(ApplicationError):
        services.ranking_amend(work_item_id=task.work_item_id, user=labeler, payload={})
    assert api(members[Role.REVIEWER]).put(url, {"content": "x"}, format="json").status_code == 404


@pytest.mark.django_db
def test_amending_a_complete_item_rechecks_agreement(project, members, acked, make_prompts, sync):
    """Quality sees the amended label, never both: the disagreement check runs on the amended ranks."""
    a, b = _two_labelers_one_item(project, members, acked, make_prompts, sync)
    ta = services.work_item_claim_next(project=project, user=a)
    item = ta.work_item
    services.ranking_submit(assignment_id=ta.pk, user=a, payload=_ranking(item))
    tb = services.work_item_claim_next(project=project, user=b)
    services.ranking_submit(assignment_id=tb.pk, user=b, payload=_ranking(item, first=1))
    item.refresh_from_db()
    assert item.needs_adjudication  # they disagree, at the cap
    WorkItem.objects.filter(pk=item.pk).update(needs_adjudication=False)
    services.ranking_amend(assignment_id=tb.pk, user=b, payload=_ranking(item))
    item.refresh_from_db()
    assert not item.needs_adjudication and Label.objects.filter(work_item=item).count() == 2


def _race(fns):
    barrier, results = threading.Barrier(len(fns)), []

    def run(fn):
        try:
            barrier.wait()
            results.append(fn())
        except Conflict as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_reopens_racing_each_other_and_a_claim_never_exceed_the_overlap(project, make_prompts, sync, guidelines):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    _comparisons_only(project, make_prompts, sync, prompts=5, comparison_overlap=1)
    users = []
    for name in ("fixer", "rival", "boss"):
        user = UserFactory(username=name)
        role = Role.REVIEWER if name == "boss" else Role.LABELER
        project_services.membership_add(project=project, username=user.username, role=role)
        project_services.guideline_acknowledge(project=project, user=user, number=guidelines.number)
        users.append(user)
    fixer, rival, boss = users
    for _round in range(5):
        task = services.work_item_claim_next(project=project, user=fixer)
        label = services.ranking_submit(assignment_id=task.pk, user=fixer, payload=_ranking(task.work_item))
        services.label_review(label_id=label.pk, reviewer=boss, accept=False, comment="fix it")
        # Two reopens (two tabs) and a rival's claim, all at once, for the one free slot.
        results = _race(
            [
                lambda lb=label: services.label_reopen(user=fixer, label_id=lb.pk),
                lambda lb=label: services.label_reopen(user=fixer, label_id=lb.pk),
                lambda: services.work_item_claim_next(project=project, user=rival, kind="comparison"),
            ]
        )
        item = WorkItem.objects.get(pk=task.work_item_id)
        live = Assignment.objects.filter(work_item=item, status=AssignmentStatus.ACTIVE)
        assert item.taken == live.count() + item.label_count == 1, (results, item.taken)
        winners = {r.user_id for r in results if isinstance(r, Assignment) and r.work_item_id == item.pk}
        assert winners == {live.get().user_id}, results
        for assignment in Assignment.objects.filter(status=AssignmentStatus.ACTIVE):  # finish for the next round
            services.work_item_skip(assignment_id=assignment.pk, user=assignment.user, reason="next round")


@pytest.mark.django_db
def test_a_submitted_task_reads_back_amendable_with_its_label_as_the_draft(
    project, members, acked, make_prompts, sync, api
):
    _comparisons_only(project, make_prompts, sync)
    labeler = acked(members[Role.LABELER])
    client = api(labeler)
    task = services.work_item_claim_next(project=project, user=labeler)
    assert client.get(f"/api/v1/work-items/{task.work_item_id}").json()["amendable"] is False  # not submitted yet
    body = _ranking(task.work_item)
    label = services.ranking_submit(assignment_id=task.pk, user=labeler, payload=body)
    got = client.get(f"/api/v1/work-items/{task.work_item_id}").json()
    assert got["status"] == "submitted" and got["amendable"] is True
    assert got["draft"]["ranks"] == body["ranks"] and got["draft"]["strength"] == "better"
    services.label_review(label_id=label.pk, reviewer=acked(members[Role.REVIEWER]), accept=True)
    assert client.get(f"/api/v1/work-items/{task.work_item_id}").json()["amendable"] is False


@pytest.mark.django_db
def test_back_to_a_skipped_task_within_its_lease(project, members, acked, make_prompts, sync, api):
    _comparisons_only(project, make_prompts, sync, comparison_overlap=1)
    labeler = acked(members[Role.LABELER])
    client = api(labeler)
    task = services.work_item_claim_next(project=project, user=labeler)
    item = task.work_item
    url = f"/api/v1/work-items/{item.pk}/resume"
    not_skipped = client.post(url)
    assert not_skipped.status_code == 200 and not_skipped.json()["status"] == "active"  # held: already there
    services.work_item_skip(assignment_id=task.pk, user=labeler, reason="not now")
    assert _counts(item) == (0, 0)
    resumed = client.post(url)
    assert resumed.status_code == 200 and resumed.json()["status"] == "active" and _counts(item) == (1, 0)
    # Skipped again, then someone else takes the one slot: too late.
    services.work_item_skip(assignment_id=task.pk, user=labeler, reason="not now")
    other = UserFactory(username="taker")
    project_services.membership_add(project=project, username=other.username, role=Role.LABELER)
    assert services.work_item_claim_next(project=project, user=acked(other)).work_item_id == item.pk
    taken = client.post(url)
    assert taken.status_code == 409 and taken.json()["extra"]["reason"] == "item_full" and _counts(item) == (1, 0)
    services.work_item_skip(work_item_id=item.pk, user=other, reason="free it")
    Assignment.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    late = client.post(url)
    assert late.status_code == 409 and late.json()["extra"]["reason"] == "lease_expired" and _counts(item) == (0, 0)
    assert api(members[Role.REVIEWER]).post(url).status_code == 404


@pytest.mark.django_db
def test_a_label_set_aside_by_adjudication_cannot_be_reopened(project, members, acked, make_prompts, sync):
    a, b = _two_labelers_one_item(project, members, acked, make_prompts, sync)
    ta = services.work_item_claim_next(project=project, user=a)
    mine = services.ranking_submit(assignment_id=ta.pk, user=a, payload=_ranking(ta.work_item))
    tb = services.work_item_claim_next(project=project, user=b)
    theirs = services.ranking_submit(assignment_id=tb.pk, user=b, payload=_ranking(ta.work_item, first=1))
    quality_services.item_adjudicate(
        work_item_id=ta.work_item_id, reviewer=acked(members[Role.REVIEWER]), keep_label_id=theirs.pk, comment="B wins"
    )
    with pytest.raises(Conflict, match="settled") as err:
        services.label_reopen(user=a, label_id=mine.pk)
    assert err.value.extra["reason"] == "adjudicated"
    assert selectors.my_labels_page(project=project, user=a)["labels"][0].fixable is False


@pytest.mark.django_db
def test_a_reviewer_who_may_have_seen_other_labels_does_not_relabel(project, members, acked, make_prompts, sync):
    """Blind labeling: a reviewer's own rejected label is not reopened once the item has others' labels."""
    _comparisons_only(project, make_prompts, sync, comparison_overlap=2)
    reviewer, labeler, admin = acked(members[Role.REVIEWER]), acked(members[Role.LABELER]), members[Role.ADMIN]
    acked(admin)
    tr = services.work_item_claim_next(project=project, user=reviewer)  # first: no labels yet
    theirs = services.ranking_submit(assignment_id=tr.pk, user=reviewer, payload=_ranking(tr.work_item))
    tl = services.work_item_claim_next(project=project, user=labeler)
    services.ranking_submit(assignment_id=tl.pk, user=labeler, payload=_ranking(tl.work_item, first=1))
    services.label_review(label_id=theirs.pk, reviewer=admin, accept=False, comment="no")
    with pytest.raises(Conflict) as err:
        services.label_reopen(user=reviewer, label_id=theirs.pk)
    assert err.value.extra["reason"] == "seen_in_review" and _counts(tr.work_item) == (1, 1)
