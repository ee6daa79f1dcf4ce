"""Every preset, and a custom schema with every question type, end to end: a project made from it,
labelers claiming over the API and answering the questions their task's schema asks (read from the task,
nothing assumed), the labels exported, the quality statistics and pages computed from the same labels.

This is the test that says "a team can bring its own rubric": each part of labelhub reads the schema
rather than knowing helpful / truthful / harmless."""

import itertools

import orjson
import pytest

from labelhub.labeling import services as labeling_services
from labelhub.labeling.models import Label
from labelhub.projects import services as project_services
from labelhub.projects.models import Role
from labelhub.projects.rubric import PRESETS, answers_of, schema_of
from labelhub.prompts.models import Candidate, Prompt
from labelhub.quality import services as quality_services
from tests.factories import UserFactory

CUSTOM = {
    "tracks": [
        {"name": "coding", "label": "Coding", "description": "Programming questions."},
        {"name": "chat", "label": "Chat", "description": "Everything else."},
    ],
    "questions": [
        {"name": "quality", "type": "scale", "label": "Quality", "min": 0, "max": 10, "required": True},
        {"name": "runs", "type": "binary", "label": "Code runs", "required": True, "tracks": ["coding"]},
        {"name": "tone", "type": "choice", "label": "Tone", "options": ["formal", "casual", "rude"], "required": True},
        {"name": "issues", "type": "multi", "label": "Issues", "options": ["wrong", "verbose"], "required": False},
        {"name": "note", "type": "text", "label": "Note", "required": False, "max_length": 200},
    ],
    "ranking": {"enabled": True, "ties": False, "all_bad": True},
    "strength": {"levels": [{"name": "clear", "label": "Clearly", "margin": 2}, {"name": "slight", "margin": 1}]},
    "safety": {"enabled": True, "required_on": ["chat"]},
    "rationale": {"required": True, "max_length": 500},
    "kto": {"undesirable_at_or_below": {"quality": 3}, "undesirable_if": ["issues"]},
}
SCHEMAS = {name: preset.as_dict() for name, preset in PRESETS.items()} | {"custom": CUSTOM}
PER_PROMPT_TRACKS = {"custom": ["coding", "chat"]}


def _answer(question: dict, seed: int):
    """A valid answer to one question, varied by `seed` so agreement is neither 0 nor 1."""
    kind = question["type"]
    if kind == "scale":
        return question["min"] + (seed * 7 + 3) % (question["max"] - question["min"] + 1)
    if kind == "binary":
        return seed % 3 != 0
    if kind == "choice":
        return question["options"][seed % len(question["options"])]
    if kind == "multi":
        return question["options"][: seed % (len(question["options"]) + 1)]
    return f"note {seed}"


def _body(task: dict, seed: int) -> dict:
    """A submission built only from what the task says: its schema, its questions, its candidates."""
    schema = task["schema"]
    ids = [str(c["id"]) for c in task["candidates"]]
    asked = {q["name"]: q for q in schema["questions"] if q["name"] in task["questions"]}
    body = {"answers": {cid: {n: _answer(q, seed + i) for n, q in asked.items()} for i, cid in enumerate(ids)}}
    if schema["ranking"]["enabled"]:
        order = ids if seed % 2 else ids[::-1]
        body["ranks"] = {cid: rank for rank, cid in enumerate(order, start=1)}
        if len(ids) == 2 and schema["strength"]["levels"]:
            body["strength"] = schema["strength"]["levels"][seed % len(schema["strength"]["levels"])]["name"]
    if task["needs_safety"]:
        body["safety"] = {cid: "safe" for cid in ids}
    if schema["rationale"]["required"]:
        body["rationale"] = f"reason {seed}"
    return body


def _project(staff, name: str):
    project = project_services.project_create(
        user=staff, name=f"e2e {name}", comparison_overlap=3, candidates_per_prompt=2
    )
    project_services.project_update(project=project, data={"demonstrations_enabled": False, "gold_rate": 0.0})
    project_services.guideline_draft_save(project=project, user=staff, schema=SCHEMAS[name])
    project_services.guideline_version_publish(
        project=project, user=staff, change_note=f"{name} rubric", content=f"# {name}\n\nLabel carefully."
    )
    tracks = PER_PROMPT_TRACKS.get(name) or [schema_of(SCHEMAS[name]).tracks[0].name]
    for i, track in zip(range(6), itertools.cycle(tracks), strict=False):
        prompt = Prompt.objects.create(
            project=project,
            messages=[{"role": "user", "content": f"question {i}"}],
            text=f"question {i}",
            content_hash=f"{name}-{i}".ljust(64, "0")[:64],
            track=track,
        )
        for j in range(2):
            Candidate.objects.create(prompt=prompt, content=f"answer {j} to {i}", source="imported")
    labeling_services.work_items_sync(project=project)
    return project


def _label_everything(project, api) -> int:
    submitted = 0
    for n in range(3):
        user = UserFactory(username=f"{project.pk}-labeler-{n}")
        project_services.membership_add(project=project, username=user.username, role=Role.LABELER)
        project_services.guideline_acknowledge(project=project, user=user, number=1)
        client = api(user)
        while (claim := client.post(f"/api/v1/projects/{project.pk}/work/next")).status_code == 200:
            task = claim.json()
            response = client.post(
                f"/api/v1/work-items/{task['id']}/ranking", _body(task, submitted + n), format="json"
            )
            assert response.status_code == 201, response.json()
            submitted += 1
    return submitted


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_project_labels_exports_and_measures_with_its_own_rubric(name, staff, api, client_for):
    project = _project(staff, name)
    submitted = _label_everything(project, api)
    assert submitted == 6 * 3 == Label.objects.filter(project=project).count()
    schema = schema_of(SCHEMAS[name])
    for label in Label.objects.filter(project=project).select_related("work_item__prompt"):
        asked = {q.name for q in schema.questions_for(label.work_item.prompt.track)}
        for cid in label.work_item.candidate_ids:
            answered = set(label.ratings.get(str(cid), {})) | ({"flags"} if str(cid) in label.flags else set())
            assert answered <= asked

    engineer = api(staff)
    rankings = engineer.get(f"/api/v1/projects/{project.pk}/exports/rankings.jsonl")
    assert rankings.status_code == 200
    rows = [orjson.loads(line) for line in b"".join(rankings.streaming_content).splitlines()]
    assert len(rows) == 6 and sum(len(row["labels"]) for row in rows) == 6 * 3
    stored = {label.pk: label for label in Label.objects.filter(project=project)}
    for row in rows:
        for exported in row["labels"]:
            label = stored[exported["label_id"]]
            for judgment in exported["judgments"]:
                cid = str(judgment["candidate_id"])
                expected = answers_of(label.ratings, label.flags, cid)
                if "answers" in judgment:
                    assert {k: v for k, v in (judgment["answers"] or {}).items() if v is not None} == expected
                else:  # HHH rows keep the columns they had before schemas (golden files unchanged)
                    assert {**(judgment["ratings"] or {}), "flags": judgment["flags"]} == {"flags": [], **expected}
    preferences = engineer.get(f"/api/v1/projects/{project.pk}/exports/preferences.jsonl")
    if schema.ranking:
        assert preferences.status_code == 200
        assert [line for line in b"".join(preferences.streaming_content).splitlines() if line]
    else:  # no ranking, no pairs: a clear error naming the export kind, not an empty file
        assert preferences.status_code == 400 and "kind" in preferences.json()["extra"]["fields"]

    quality_services.project_stats_refresh(project_id=project.pk)
    stats = engineer.get(f"/api/v1/projects/{project.pk}/stats")
    assert stats.status_code == 200, stats.content
    agreement = stats.json()["data"]["agreement"]
    assert set(agreement["alpha"]) == {q.name for q in schema.questions if q.type != "text"}
    # Six items are too few for an interval: said so, not a confident number.
    assert all(row["enough_data"] is False for row in agreement["questions"])
    web = client_for(staff)
    for page in ("", "leaderboard/", "gold/", "labelers/"):
        assert web.get(f"/projects/{project.pk}/quality/{page}").status_code == 200, page
