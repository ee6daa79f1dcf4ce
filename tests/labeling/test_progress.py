"""The progress line's "items left": what this labeler can still label (the task they hold plus open
items of a served kind they have no live assignment on). Each submit or skip takes exactly one off,
before or after the next claim; others' work on an item with a free slot does not change it."""

import pytest

from labelhub.labeling import selectors, services
from labelhub.labeling.models import Assignment, AssignmentStatus, WorkItem
from labelhub.projects.models import Role


def left(project, user):
    return int(selectors.labeling_progress(project=project, user=user)["items_left"])


@pytest.mark.django_db
def test_items_left_counts_what_this_labeler_can_still_do(project, members, acked, make_prompts, sync):
    project.comparisons_enabled = False
    project.demonstration_overlap = 2
    project.save()
    make_prompts(3)
    sync()
    assert set(WorkItem.objects.values_list("overlap", flat=True)) == {2}
    a, b = acked(members[Role.LABELER]), acked(members[Role.REVIEWER])
    assert left(project, a) == left(project, b) == 3

    held = services.work_item_claim_next(project=project, user=a)
    assert left(project, a) == 3  # the task on screen is still to do
    services.demonstration_submit(assignment_id=held.pk, user=a, content="ideal")
    assert left(project, a) == 2  # before the next claim…
    second = services.work_item_claim_next(project=project, user=a)
    assert left(project, a) == 2  # …and after it
    assert left(project, b) == 3  # a's label leaves a free slot for b
    services.work_item_skip(assignment_id=second.pk, user=a, reason="not my language")
    assert left(project, a) == 1

    # An expired assignment of theirs can be claimed back: it counts again.
    third = services.work_item_claim_next(project=project, user=a)
    Assignment.objects.filter(pk=third.pk).update(status=AssignmentStatus.EXPIRED)
    assert left(project, a) == 1
    # Kinds the project does not serve are not counted.
    project.demonstrations_enabled = False
    project.save()
    assert left(project, a) == 0
