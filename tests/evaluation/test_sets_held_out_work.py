"""Held-out prompts make no training work, and the prompt list says which prompts are held out."""

import pytest

from labelhub.evaluation.services.sets import evaluation_set_create, evaluation_set_delete
from labelhub.labeling.models import WorkItem
from labelhub.labeling.services import work_items_sync
from labelhub.prompts.models import Candidate
from labelhub.prompts.selectors import prompts_ready_for_work

from .test_sets_services import make_prompt

pytestmark = pytest.mark.django_db


def test_held_out_prompts_are_not_ready_for_work_and_make_no_items(project, staff):
    project.candidates_per_prompt = 2
    project.save()
    kept, held = make_prompt(project, "kept"), make_prompt(project, "held")
    for p in (kept, held):
        for text in ("a", "b"):
            Candidate.objects.create(prompt=p, content=text, source="imported")
    s = evaluation_set_create(project=project, user=staff, name="eval", prompt_ids=[held.pk])
    assert list(prompts_ready_for_work(project=project)) == [kept]
    work_items_sync(project=project)
    assert set(WorkItem.objects.values_list("prompt_id", flat=True)) == {kept.pk}
    evaluation_set_delete(evaluation_set=s)  # back in training once no set holds it
    work_items_sync(project=project)
    assert set(WorkItem.objects.values_list("prompt_id", flat=True)) == {kept.pk, held.pk}


def test_prompt_list_shows_a_held_out_badge(project, staff, client_for):
    kept, held = make_prompt(project, "kept prompt"), make_prompt(project, "held prompt")
    evaluation_set_create(project=project, user=staff, name="eval", prompt_ids=[held.pk])
    page = client_for(staff).get(f"/projects/{project.pk}/prompts/").content.decode()
    rows = page.split("<tr>")
    held_row = next(r for r in rows if f"#{held.pk}<" in r)
    kept_row = next(r for r in rows if f"#{kept.pk}<" in r)
    assert "held out</span>" in held_row and "held out</span>" not in kept_row
