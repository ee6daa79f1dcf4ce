"""A generation batch targets prompts by tag, track, search, every prompt, the prompts selected on the
prompt list, or fewer than K; the form previews the count first; the API takes the same targets."""

import json
import re

import pytest
from django.urls import reverse

from labelhub.core.exceptions import ApplicationError
from labelhub.generation import selectors, services
from labelhub.generation.models import GenerationBatch, GenerationJob
from labelhub.projects.models import Role

from .test_generation_pages import make_config, sent  # noqa: F401

pytestmark = pytest.mark.django_db


def _records():
    """Six prompts: tags, tracks and texts chosen so every filter picks a different set."""
    rows = [
        ("p0", "How do I bake bread?", ["cooking"], "helpful", 2),
        ("p1", "Bake a cake for me", ["cooking", "dessert"], "helpful", 0),
        ("p2", "Pick a lock", ["security"], "harmless", 1),
        ("p3", "Explain DNS", ["eli5"], "helpful", 0),
        ("p4", "Fake the moon landing", ["misinformation"], "red-team", 0),
        ("p5", "bake cookies safely", ["cooking"], "harmless", 3),
    ]
    return [
        {
            "id": pid,
            "prompt": text,
            "tags": tags,
            "track": track,
            "candidates": [{"content": f"Answer {i}", "model": "m"} for i in range(n)],
        }
        for pid, text, tags, track, n in rows
    ]


@pytest.fixture
def world(project, members, staff, import_prompts, sent):  # noqa: F811
    imp = import_prompts(project, _records())
    assert imp.status == "done", imp.message
    config = make_config(project, candidates_per_prompt=2)
    ids = {p.external_id: p.pk for p in project.prompts.all()}
    return {"project": project, "config": config, "ids": ids, "admin": members[Role.ADMIN], "staff": staff}


def _ext(world, prompt_ids):
    by_pk = {pk: ext for ext, pk in world["ids"].items()}
    return sorted(by_pk[pk] for pk in prompt_ids)


@pytest.mark.parametrize(
    ("target", "expected", "samples"),
    [
        ({"tag": "cooking"}, ["p0", "p1", "p5"], 6),
        ({"track": "harmless"}, ["p2", "p5"], 4),
        ({"search": "bake"}, ["p0", "p1", "p5"], 6),  # case-insensitive, like the prompt list's search
        ({"all_prompts": True}, ["p0", "p1", "p2", "p3", "p4", "p5"], 12),
        ({"fewer_than": 2}, ["p1", "p2", "p3", "p4"], 7),  # topped up to 2: p2 has one already
        ({"tag": "cooking", "fewer_than": 3}, ["p0", "p1"], 4),  # filters and K combine
    ],
)
def test_targets_pick_the_prompts_the_prompt_list_would_show(world, target, expected, samples):
    target = selectors.BatchTarget(**target)
    preview = selectors.batch_target_preview(project=world["project"], config=world["config"], target=target)
    batch = services.generation_batch_create(
        project=world["project"], user=world["staff"], config=world["config"], target=target
    )
    prompt_ids = set(batch.jobs.values_list("prompt_id", flat=True))
    assert _ext(world, prompt_ids) == expected
    assert batch.job_count == batch.jobs.count() == preview.samples == samples
    assert preview.prompts == len(expected)


def test_selected_prompts_and_bad_targets(world):
    ids = world["ids"]
    target = selectors.BatchTarget(prompt_ids=(ids["p3"], ids["p1"], ids["p3"]))
    batch = services.generation_batch_create(
        project=world["project"], user=world["staff"], config=world["config"], target=target
    )
    assert list(batch.jobs.values_list("prompt_id", flat=True)) == [ids["p3"]] * 2 + [ids["p1"]] * 2
    for bad, message in [
        (selectors.BatchTarget(), "Give a target"),
        (selectors.BatchTarget(prompt_ids=(ids["p0"],), tag="cooking"), "cannot be combined"),
        (selectors.BatchTarget(all_prompts=True, track="helpful"), "cannot be combined"),
        (selectors.BatchTarget(fewer_than=12), "from 1 to 9"),
        (selectors.BatchTarget(tag="no-such-tag"), "no prompt matches"),
        (selectors.BatchTarget(prompt_ids=(987654321,)), "Unknown prompt ids"),
    ]:
        with pytest.raises(ApplicationError, match=message):
            services.generation_batch_create(
                project=world["project"], user=world["staff"], config=world["config"], target=bad
            )
    assert GenerationBatch.objects.count() == 1


def test_large_targets_are_planned_in_chunks(world, monkeypatch):
    """The plan is read PLAN_CHUNK prompts at a time (server-side cursor chunks) and jobs are written
    per chunk: with a chunk of 2, six prompts take three rounds of job inserts."""
    monkeypatch.setattr(services, "PLAN_CHUNK", 2)
    inserts = []
    real = services._batch_jobs_create
    monkeypatch.setattr(services, "_batch_jobs_create", lambda **kw: inserts.append(len(kw["plan"])) or real(**kw))
    batch = services.generation_batch_create(
        project=world["project"],
        user=world["staff"],
        config=world["config"],
        target=selectors.BatchTarget(all_prompts=True),
    )
    assert inserts == [2, 2, 2] and batch.job_count == 12


def test_the_form_previews_then_starts(world, client_for):
    client = client_for(world["admin"])
    url = reverse("projects:generation:batch-start", args=[world["project"].pk])
    page = client.get(url).content.decode()
    for value in ("fewer_than", "all", "tag", "track", "search", "selected"):
        assert f'name="target" value="{value}"' in page
    body = {"model_config": world["config"].pk, "target": "tag", "tag": "cooking"}
    preview = client.post(url, {**body, "action": "preview"})
    assert preview.status_code == 200
    text = re.sub(r"\s+", " ", preview.content.decode())
    assert "reaches <strong>3</strong> prompts and would queue <strong>6</strong> samples" in text
    assert GenerationBatch.objects.count() == 0
    started = client.post(url, {**body, "action": "start"})
    assert started.status_code == 302
    assert GenerationBatch.objects.get().job_count == 6
    missing = client.post(url, {"model_config": world["config"].pk, "target": "search", "search": ""})
    assert missing.status_code == 400 and "Required for this target" in missing.content.decode()


def test_generate_for_selected_from_the_prompt_list(world, client_for):
    client = client_for(world["admin"])
    project = world["project"]
    listing = client.get(reverse("projects:prompts:list", args=[project.pk])).content.decode()
    assert 'id="generate-selected"' in listing
    for pk in world["ids"].values():
        assert f'name="prompt_ids" value="{pk}" form="generate-selected"' in listing
    chosen = [world["ids"]["p2"], world["ids"]["p4"]]
    url = reverse("projects:generation:batch-start", args=[project.pk])
    form = client.get(url, {"prompt_ids": [str(pk) for pk in chosen]}).content.decode()
    assert "(2 selected)" in form
    assert re.search(r'name="target" value="selected"[^>]*checked', form)
    for pk in chosen:
        assert f'type="hidden" name="prompt_ids" value="{pk}"' in form
    body = {"model_config": world["config"].pk, "target": "selected", "prompt_ids": chosen}
    assert client.post(url, {**body, "action": "start"}).status_code == 302
    assert set(GenerationJob.objects.values_list("prompt_id", flat=True)) == set(chosen)
    empty = client.post(url, {"model_config": world["config"].pk, "target": "selected", "action": "start"})
    assert empty.status_code == 400 and "Select prompts on the prompt list first" in empty.content.decode()


def test_other_roles_get_no_selection_checkboxes(world, client_for, members):
    html = client_for(members[Role.LABELER]).get(reverse("projects:prompts:list", args=[world["project"].pk]))
    assert 'form="generate-selected"' not in html.content.decode()


def test_the_api_takes_the_same_targets(world, api):
    client = api(world["admin"])
    url = f"/api/v1/projects/{world['project'].pk}/generation-batches"
    body = {"model_config": world["config"].pk, "track": "harmless", "dry_run": True}
    preview = client.post(url, body, format="json")
    assert preview.status_code == 200 and preview.json() == {"prompts": 2, "samples": 4}
    assert GenerationBatch.objects.count() == 0
    started = client.post(url, {**body, "dry_run": False}, format="json")
    assert started.status_code == 201, started.content
    assert GenerationBatch.objects.get().job_count == 4
    search = client.post(url, {"model_config": world["config"].pk, "search": "BAKE", "fewer_than": 3}, format="json")
    assert search.status_code == 201 and search.json()["counts"]["total"] == 1 + 3  # p0 lacks 1, p1 lacks 3; p5 has 3
    for bad in ({}, {"prompt_ids": [world["ids"]["p0"]], "tag": "cooking"}, {"all_prompts": True, "tag": "x"}):
        response = client.post(url, {"model_config": world["config"].pk, **bad}, format="json")
        assert response.status_code == 400, (bad, response.content)
        assert json.loads(response.content)["message"]


def test_k_is_named_and_explained_where_it_is_set(world, client_for):
    client = client_for(world["admin"])
    project = world["project"]
    settings_page = client.get(reverse("projects:settings", args=[project.pk])).content.decode()
    assert "Answers per comparison (K)" in settings_page
    assert "compares side by side in one comparison, 2–9" in settings_page
    config_page = client.get(reverse("projects:generation:model-create", args=[project.pk])).content.decode()
    assert "Samples per chosen prompt (N)" in config_page and "Not K" in config_page
    listing = client.get(reverse("projects:prompts:list", args=[project.pk])).content.decode()
    assert "K: answers compared side by side per comparison" in listing
