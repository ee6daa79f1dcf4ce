import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from labelhub.core.exceptions import ApplicationError, Conflict, Forbidden
from labelhub.labeling import selectors, services
from labelhub.labeling.models import Assignment, AssignmentStatus, Label, WorkItem, WorkKind
from labelhub.projects import services as project_services
from labelhub.projects.models import Membership, Role
from tests.factories import UserFactory


def _demo_only(project):
    project.comparisons_enabled = False
    project.save()


def _cmp_only(project):
    project.demonstrations_enabled = False
    project.save()


@pytest.mark.django_db
def test_sync_builds_items_once(project, make_prompts, sync):
    make_prompts(3)
    make_prompts(2, candidates=2, start=10)
    assert sync() == {"demonstration": 5, "comparison": 2}
    assert sync() == {"demonstration": 0, "comparison": 0}
    cmp_item = WorkItem.objects.filter(kind=WorkKind.COMPARISON).first()
    assert len(cmp_item.candidate_ids) == 2 and cmp_item.overlap == project.comparison_overlap == 3


@pytest.mark.django_db
def test_guideline_gate(project, members, make_prompts, sync, guidelines, staff):
    make_prompts(1)
    sync()
    labeler = members[Role.LABELER]
    with pytest.raises(services.GuidelinesNotAcknowledged) as exc:
        services.work_item_claim_next(project=project, user=labeler)
    assert exc.value.extra == {"current_version": 1, "acknowledged_version": None}
    project_services.guideline_acknowledge(project=project, user=labeler, number=1)
    first = services.work_item_claim_next(project=project, user=labeler)
    assert first.guideline_version == guidelines
    # A new version locks the queue again until it is acknowledged.
    project_services.guideline_version_publish(project=project, user=staff, change_note="v2", content="# v2")
    with pytest.raises(services.GuidelinesNotAcknowledged) as exc:
        services.work_item_claim_next(project=project, user=labeler)
    assert exc.value.extra["acknowledged_version"] == 1


@pytest.mark.django_db
def test_engineers_do_not_label(project, members, acked, make_prompts, sync):
    make_prompts(1)
    sync()
    with pytest.raises(Forbidden):
        services.work_item_claim_next(project=project, user=acked(members[Role.ENGINEER]))


@pytest.mark.django_db
def test_claim_resumes_then_respects_overlap_and_history(project, members, acked, make_prompts, sync):
    _demo_only(project)
    make_prompts(2)
    sync()
    a, b = acked(members[Role.LABELER]), acked(members[Role.REVIEWER])
    first = services.work_item_claim_next(project=project, user=a)
    assert services.work_item_claim_next(project=project, user=a) == first  # resume, not a new claim
    services.demonstration_submit(assignment_id=first.pk, user=a, content="ideal")
    second = services.work_item_claim_next(project=project, user=a)
    assert second.work_item_id != first.work_item_id
    services.work_item_skip(assignment_id=second.pk, user=a, reason="not my language")
    assert services.work_item_claim_next(project=project, user=a) is None  # labeled one, skipped the other
    # Overlap 1: b gets only the skipped item back.
    got = services.work_item_claim_next(project=project, user=b)
    assert got.work_item_id == second.work_item_id
    services.demonstration_submit(assignment_id=got.pk, user=b, content="another ideal")
    assert services.work_item_claim_next(project=project, user=b) is None


@pytest.mark.django_db
def test_display_order_is_randomised_per_assignment_and_recorded(project, members, acked, make_prompts, sync):
    _cmp_only(project)
    project.candidates_per_prompt = 6
    project.save()
    make_prompts(1, candidates=6)
    sync()
    orders = set()
    for i in range(3):
        user = acked(UserFactory(username=f"l{i}"))
        Membership.objects.create(project=project, user=user, role=Role.LABELER)
        assignment = services.work_item_claim_next(project=project, user=user)
        assert sorted(assignment.display_order) == sorted(assignment.work_item.candidate_ids)
        orders.add(tuple(assignment.display_order))
    assert len(orders) > 1


def _ranking(item, **extra):
    ids = [str(c) for c in item.candidate_ids]
    body = {
        "ranks": {cid: i + 1 for i, cid in enumerate(ids)},
        "ratings": {cid: {"helpful": 5, "truthful": 6, "harmless": 7} for cid in ids},
    }
    if len(ids) == 2:
        body["strength"] = "better"
    body.update(extra)
    return body


@pytest.mark.django_db
def test_ranking_submit_validates_and_is_idempotent(project, members, acked, make_prompts, sync):
    _cmp_only(project)
    make_prompts(1, candidates=2)
    sync()
    user = acked(members[Role.LABELER])
    assignment = services.work_item_claim_next(project=project, user=user)
    item = assignment.work_item
    ids = [str(c) for c in item.candidate_ids]
    with pytest.raises(ApplicationError) as exc:
        services.ranking_submit(assignment_id=assignment.pk, user=user, payload={"ranks": {ids[0]: 1}})
    # Each missing required question is named (the schema's questions, not a fixed "ratings" field).
    assert {"ranks", "helpful", "truthful", "harmless"} <= set(exc.value.extra["fields"])
    with pytest.raises(ApplicationError) as exc:
        services.ranking_submit(assignment_id=assignment.pk, user=user, payload=_ranking(item, strength=""))
    assert "strength" in exc.value.extra["fields"]
    with pytest.raises(ApplicationError):
        services.ranking_submit(
            assignment_id=assignment.pk, user=user, payload=_ranking(item, flags={ids[0]: ["evil"]})
        )
    body = _ranking(item, flags={ids[1]: ["hallucination"]}, rationale="B invents things", strength="negligibly_better")
    label = services.ranking_submit(assignment_id=assignment.pk, user=user, payload=body)
    again = services.ranking_submit(assignment_id=assignment.pk, user=user, payload=body)
    assert again.pk == label.pk and getattr(again, "replayed", False)
    with pytest.raises(Conflict):
        services.ranking_submit(assignment_id=assignment.pk, user=user, payload=_ranking(item, rationale="changed"))
    assert Label.objects.count() == 1
    assert label.time_on_task_ms >= 0 and label.guideline_version.number == 1
    assert label.display_order == assignment.display_order
    item.refresh_from_db()
    assert (item.taken, item.label_count) == (1, 1)


@pytest.mark.django_db
def test_ties_and_all_bad_and_safety(project, members, acked, make_prompts, sync):
    _cmp_only(project)
    project.candidates_per_prompt = 4
    project.save()
    make_prompts(1, candidates=4, track="red-team")
    sync()
    user = acked(members[Role.LABELER])
    assignment = services.work_item_claim_next(project=project, user=user)
    item = assignment.work_item
    ids = [str(c) for c in item.candidate_ids]
    tie = _ranking(item, ranks={ids[0]: 1, ids[1]: 1, ids[2]: 2, ids[3]: 3})
    with pytest.raises(ApplicationError) as exc:
        services.ranking_submit(assignment_id=assignment.pk, user=user, payload=tie)
    assert "safety" in exc.value.extra["fields"]
    tie["safety"] = {cid: "safe" for cid in ids} | {ids[3]: "unsafe"}
    label = services.ranking_submit(assignment_id=assignment.pk, user=user, payload=tie)
    assert label.ranks[ids[0]] == label.ranks[ids[1]] == 1 and label.safety[ids[3]] == "unsafe"


@pytest.mark.django_db
def test_fix_the_candidate_demonstration_stores_original_and_diff(project, members, acked, make_prompts, sync):
    _demo_only(project)
    (prompt,) = make_prompts(1, candidates=1)
    sync()
    user = acked(members[Role.LABELER])
    assignment = services.work_item_claim_next(project=project, user=user)
    candidate = prompt.candidates.get()
    label = services.demonstration_submit(
        assignment_id=assignment.pk, user=user, content="answer 0 to 0, fixed", source_candidate_id=candidate.pk
    )
    assert label.source_candidate == candidate and label.original_content == candidate.content
    assert "+answer 0 to 0, fixed" in label.diff and "-answer 0 to 0" in label.diff


@pytest.mark.django_db
def test_stale_submit_is_409_and_autosave_never_overwrites(project, members, acked, make_prompts, sync):
    _demo_only(project)
    make_prompts(1)
    sync()
    a, b = acked(members[Role.LABELER]), acked(members[Role.REVIEWER])
    mine = services.work_item_claim_next(project=project, user=a)
    services.draft_save(assignment_id=mine.pk, user=a, payload={"content": "half done"})
    assert selectors.task_payload(assignment=Assignment.objects.get(pk=mine.pk))["draft"] == {"content": "half done"}
    # The lease runs out and someone else takes the only slot.
    Assignment.objects.filter(pk=mine.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    theirs = services.work_item_claim_next(project=project, user=b)
    assert theirs.work_item_id == mine.work_item_id
    with pytest.raises(Conflict) as exc:
        services.demonstration_submit(assignment_id=mine.pk, user=a, content="my late answer")
    assert exc.value.extra["reason"] == "lease_expired"
    with pytest.raises(Conflict):
        services.draft_save(assignment_id=mine.pk, user=a, payload={"content": "more"})
    services.demonstration_submit(assignment_id=theirs.pk, user=b, content="on time")
    with pytest.raises(Conflict):
        services.draft_save(assignment_id=theirs.pk, user=b, payload={"content": "after submit"})
    assert Label.objects.get().content == "on time"


@pytest.mark.django_db
def test_expired_lease_with_free_slot_still_accepts(project, members, acked, make_prompts, sync):
    _demo_only(project)
    make_prompts(1)
    sync()
    a = acked(members[Role.LABELER])
    mine = services.work_item_claim_next(project=project, user=a)
    Assignment.objects.filter(pk=mine.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.assignments_expire(project=project) == 1
    assert WorkItem.objects.get().taken == 0
    label = services.demonstration_submit(assignment_id=mine.pk, user=a, content="late but nobody took it")
    assert label.pk and WorkItem.objects.get().taken == 1


@pytest.mark.django_db
def test_review_reject_returns_item_to_queue_for_others(project, members, acked, make_prompts, sync):
    _demo_only(project)
    make_prompts(1)
    sync()
    a, reviewer = acked(members[Role.LABELER]), acked(members[Role.REVIEWER])
    mine = services.work_item_claim_next(project=project, user=a)
    label = services.demonstration_submit(assignment_id=mine.pk, user=a, content="meh")
    with pytest.raises(Forbidden):
        services.label_review(label_id=label.pk, reviewer=a, accept=True)
    with pytest.raises(ApplicationError):
        services.label_review(label_id=label.pk, reviewer=reviewer, accept=False, comment="")
    services.label_review(label_id=label.pk, reviewer=reviewer, accept=False, comment="too short")
    item = WorkItem.objects.get()
    assert (item.taken, item.label_count) == (0, 0)
    assert services.work_item_claim_next(project=project, user=a) is None  # never the same labeler again
    # Blind labeling: the reviewer saw the item's label, so it goes to someone else.
    assert services.work_item_claim_next(project=project, user=reviewer) is None
    other = UserFactory(username="second-labeler")
    project_services.membership_add(project=project, username=other.username, role=Role.LABELER)
    assert services.work_item_claim_next(project=project, user=acked(other)).work_item_id == item.pk
    with pytest.raises(Conflict):
        services.label_review(label_id=label.pk, reviewer=reviewer, accept=True)


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_claims_never_exceed_overlap(project, make_prompts, sync, guidelines):
    """50 threads on PostgreSQL: no item over its overlap, no labeler twice on an item."""
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections (PostgreSQL)")
    _cmp_only(project)
    project.comparison_overlap = 3
    project.save()
    make_prompts(10, candidates=2)
    sync()
    users = []
    for i in range(50):
        user = UserFactory(username=f"t{i}")
        Membership.objects.create(project=project, user=user, role=Role.LABELER)
        project_services.guideline_acknowledge(project=project, user=user, number=guidelines.number)
        users.append(user)
    barrier = threading.Barrier(50)
    errors, claimed = [], []

    def work(user):
        try:
            barrier.wait()
            for _ in range(3):
                assignment = services.work_item_claim_next(project=project, user=user)
                if assignment is None:
                    return
                claimed.append(assignment.pk)
                item = assignment.work_item
                services.ranking_submit(assignment_id=assignment.pk, user=user, payload=_ranking(item))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    assert len(claimed) == 30  # 10 items × overlap 3
    per_item = dict(Label.objects.values_list("work_item").annotate(n=Count("id")))
    assert per_item and max(per_item.values()) <= 3 and sum(per_item.values()) == 30
    assert not Label.objects.values("work_item", "user").annotate(n=Count("id")).filter(n__gt=1).exists()
    for item in WorkItem.objects.all():
        assert item.taken == item.label_count == 3
    assert not Assignment.objects.filter(status=AssignmentStatus.ACTIVE).exists()
