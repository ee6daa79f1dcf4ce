"""Reviewers stay blind where they also label (README, "Quality control"): a user whose role reviews
is only served items without labels (the review queue may have shown them any label of an item they
never held), anyone else is never served an item with a label they reviewed; the review queue never
shows a reviewer the labels of an item they hold, or hold expired (they may still label it).

Runs on PostgreSQL (the claim's SQL) and on SQLite (its ORM twin)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labelhub.core.exceptions import Conflict
from labelhub.labeling import selectors, services
from labelhub.labeling.models import Assignment
from labelhub.projects import services as project_services
from labelhub.projects.models import Membership, Role
from tests.factories import UserFactory


@pytest.fixture
def world(project, members, acked, make_prompts, sync):
    """Demonstrations only, two labels per item, two labelers and a reviewer who all acknowledged."""
    project.comparisons_enabled = False
    project.demonstration_overlap = 2
    project.gold_rate = 0
    project.save()
    make_prompts(2)
    sync()
    second = UserFactory(username="second-labeler")
    project_services.membership_add(project=project, username=second.username, role=Role.LABELER)
    return {
        "project": project,
        "labeler": acked(members[Role.LABELER]),
        "second": acked(second),
        "reviewer": acked(members[Role.REVIEWER]),
        "admin": acked(members[Role.ADMIN]),
    }


def _label(project, user, content="An answer."):
    assignment = services.work_item_claim_next(project=project, user=user)
    return services.demonstration_submit(assignment_id=assignment.pk, user=user, content=content)


def _queue(project, reviewer) -> set[int]:
    return set(selectors.review_queue(project=project, reviewer=reviewer).values_list("work_item_id", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ADMIN])
def test_a_reviewer_is_never_served_an_item_whose_labels_the_queue_shows_them(world, role):
    project, reviewer = world["project"], world["reviewer" if role == Role.REVIEWER else "admin"]
    first = _label(project, world["labeler"])  # item 1 has a label (pending): in the reviewer's queue
    assert first.work_item_id in _queue(project, reviewer)
    got = services.work_item_claim_next(project=project, user=reviewer)
    assert got is not None and got.work_item_id != first.work_item_id  # item 2, which has no label
    services.demonstration_submit(assignment_id=got.pk, user=reviewer, content="Mine.")
    assert services.work_item_claim_next(project=project, user=reviewer) is None  # item 1 still has a slot
    # A labeler who does not review takes item 1's second slot.
    assert services.work_item_claim_next(project=project, user=world["second"]).work_item_id == first.work_item_id


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["active", "expired"])
def test_the_review_queue_hides_the_labels_of_an_item_the_reviewer_may_still_label(world, status):
    project, reviewer = world["project"], world["reviewer"]
    held = services.work_item_claim_next(project=project, user=reviewer)  # a fresh item, no labels yet
    if status == "expired":
        Assignment.objects.filter(pk=held.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        assert services.assignments_expire(project=project) == 1  # a late submit may still take the slot
    theirs = _label(project, world["labeler"])
    assert theirs.work_item_id == held.work_item_id
    assert _queue(project, reviewer) == set()
    page = selectors.review_queue_page(project=project, reviewer=reviewer)
    assert page["labels"] == [] and page["total"] == 0
    with pytest.raises(Conflict, match="label this item yourself"):  # the API way in refuses too
        services.label_review(label_id=theirs.pk, reviewer=reviewer, accept=True)
    assert selectors.review_queue(project=project, reviewer=world["admin"]).get() == theirs  # others see it
    # Once they labeled it, they can no longer be served it: its other labels are theirs to review.
    mine = services.demonstration_submit(assignment_id=held.pk, user=reviewer, content="Mine.")
    assert _queue(project, reviewer) == {held.work_item_id}
    assert selectors.review_queue(project=project, reviewer=reviewer).get() == theirs
    assert services.label_review(label_id=theirs.pk, reviewer=reviewer, accept=True).reviewed_by == reviewer
    assert mine.user == reviewer


@pytest.mark.django_db
def test_the_review_page_leaves_out_labels_of_an_item_the_reviewer_holds(world, client):
    project, reviewer = world["project"], world["reviewer"]
    held = services.work_item_claim_next(project=project, user=reviewer)
    theirs = _label(project, world["labeler"], content="SECRET-ANSWER-OF-ANOTHER")
    assert theirs.work_item_id == held.work_item_id
    client.force_login(reviewer)
    response = client.get(f"/projects/{project.pk}/label/review/")
    assert response.status_code == 200 and "SECRET-ANSWER-OF-ANOTHER" not in response.content.decode()
    response = client.post(f"/projects/{project.pk}/label/review/{theirs.pk}/", {"decision": "accept"})
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.review_status == "pending"


@pytest.mark.django_db
def test_a_former_reviewer_is_never_served_an_item_they_reviewed(world):
    project, reviewer = world["project"], world["reviewer"]
    first = _label(project, world["labeler"])
    services.label_review(label_id=first.pk, reviewer=reviewer, accept=True)
    membership = Membership.objects.get(project=project, user=reviewer)
    project_services.membership_set_role(project=project, membership_id=membership.pk, role=Role.LABELER)
    got = services.work_item_claim_next(project=project, user=reviewer)
    assert got.work_item_id != first.work_item_id
    services.demonstration_submit(assignment_id=got.pk, user=reviewer, content="Mine.")
    assert services.work_item_claim_next(project=project, user=reviewer) is None
