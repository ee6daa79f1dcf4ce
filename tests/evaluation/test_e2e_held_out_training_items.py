"""Found by the browser test of the loop: a prompt's training items made before it joined an evaluation
set stayed claimable, so a labeler writing a training demonstration on a held-out prompt was shown the
set's reference and the evaluation runs' answers. Creating the set drops the open ones."""

import pytest

from labelhub.evaluation.services.sets import evaluation_set_create, evaluation_set_delete
from labelhub.labeling import services as labeling
from labelhub.labeling.models import WorkItem
from labelhub.projects import services as project_services
from tests.factories import UserFactory
from tests.workbench_helpers import configure, make_prompt

pytestmark = pytest.mark.django_db


def test_open_training_items_of_held_out_prompts_go_claimed_ones_stay(project, staff, publish):
    project = configure(project, k=2)
    prompts = [make_prompt(project, f"question {i}", ["a", "b"]) for i in range(3)]
    labeling.work_items_sync(project=project)
    version = publish(project, staff, "# v1")
    user = UserFactory(username="lab")
    project_services.membership_add(project=project, username="lab", role="labeler")
    project_services.guideline_acknowledge(project=project, user=user, number=version.number)
    claimed = labeling.work_item_claim_next(project=project, user=user)
    before = set(WorkItem.objects.values_list("pk", flat=True))
    assert len(before) == 6  # a demonstration and a comparison per prompt

    others = [p.pk for p in prompts if p.pk != claimed.work_item.prompt_id]
    held = [others[0], claimed.work_item.prompt_id]
    s = evaluation_set_create(project=project, user=staff, name="eval", prompt_ids=held)
    # The held prompts keep only the claimed item; the third prompt keeps both of its items.
    assert set(WorkItem.objects.filter(prompt_id__in=held).values_list("pk", flat=True)) == {claimed.work_item_id}
    assert WorkItem.objects.exclude(prompt_id__in=held).count() == 2
    evaluation_set_delete(evaluation_set=s)
    labeling.work_items_sync(project=project)
    assert WorkItem.objects.count() == 6  # back in training once no set holds them
