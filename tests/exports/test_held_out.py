"""The leak guard: labels of prompts held out for evaluation never leave in an export unless
include_held_out=true, on every kind and format, streamed or as a snapshot; fix-it items' labels
always leave, their metadata naming the run, set and triage item they came from."""

import orjson
import pytest

from labelhub.exports import services, tasks
from labelhub.exports.models import ExportSnapshot, SnapshotStatus
from labelhub.exports.params import FORMATS, HELD_OUT_INCLUDED_NOTE, NOTE_HEADER
from labelhub.labeling.models import WorkItem
from labelhub.prompts.models import Candidate, Prompt

from . import builders as b

pytestmark = pytest.mark.django_db

CASES = [(kind, fmt) for kind, formats in FORMATS.items() for fmt in formats]
EXTRA = {"preferences": "&include_edits=true", "kto": "&include_edits=true"}


def _rows(client, project, kind, query):
    response = client.get(f"/api/v1/projects/{project.pk}/exports/{kind}.jsonl?{query}")
    assert response.status_code == 200, response.content
    return [orjson.loads(line) for line in b"".join(response.streaming_content).splitlines()], response


def _prompt_id(row: dict) -> int:
    return row["metadata"]["prompt_id"]


def _held(golden, *names):
    ids = [golden.labels[name].work_item.prompt_id for name in names]
    Prompt.objects.filter(pk__in=ids).update(held_out=True)
    return set(ids)


@pytest.mark.parametrize(("kind", "fmt"), CASES)
def test_every_kind_and_format_leaves_held_out_prompts_out(golden, api, kind, fmt):
    client, project = api(golden.users["eve"]), golden.project
    query = f"format={fmt}&metadata=true{EXTRA.get(kind, '')}"
    before, _ = _rows(client, project, kind, query)
    held = _held(golden, "p1_alice", "p6_alice", "p2_alice")
    assert any(_prompt_id(r) in held for r in before), "the case must have rows of held-out prompts"
    guarded, response = _rows(client, project, kind, query)
    assert guarded == [r for r in before if _prompt_id(r) not in held]
    assert NOTE_HEADER not in response
    included, response = _rows(client, project, kind, query + "&include_held_out=true")
    assert included == before
    assert response[NOTE_HEADER] == HELD_OUT_INCLUDED_NOTE


def test_include_held_out_false_is_the_default_and_bad_values_are_400(golden, api):
    client, project = api(golden.users["eve"]), golden.project
    held = _held(golden, "p1_demo_bob")
    rows, _ = _rows(client, project, "sft", "metadata=true&include_held_out=false")
    assert rows and not any(_prompt_id(r) in held for r in rows)
    response = client.get(f"/api/v1/projects/{project.pk}/exports/sft.jsonl?include_held_out=maybe")
    assert response.status_code == 400
    assert "include_held_out" in response.json()["extra"]["fields"]


def _fix_item(golden, *, content="The answer is 4, fixed."):
    """A fix-it demonstration on a held-out prompt, pre-filled with the condemned answer."""
    project = golden.project
    p, (condemned,) = b.prompt(project, "Held out: what is 2 + 2?", candidates=[("It is 5.", "model-under-test")])
    Prompt.objects.filter(pk=p.pk).update(held_out=True)
    origin = {"evaluation_run": 7, "evaluation_set": 3, "triage": 11}
    item = WorkItem.objects.create(
        project=project,
        prompt=p,
        kind="demonstration",
        purpose="fix",
        origin=origin,
        candidate_ids=[condemned.pk],
        overlap=1,
    )
    label = b.label(item, golden.users["alice"], golden.versions[1], content=content, source_candidate=condemned)
    return p, condemned, label, origin


@pytest.mark.parametrize(
    ("kind", "fmt", "rows"),
    [
        ("sft", "trl-messages", 1),
        ("sft", "openai-chat", 1),
        ("preferences", "trl-preference", 1),
        ("preferences", "hh-rlhf", 1),
        ("kto", "trl-kto", 2),
    ],
)
def test_fix_items_are_always_exported_with_their_origin(golden, api, kind, fmt, rows):
    client, project = api(golden.users["eve"]), golden.project
    p, _condemned, label, origin = _fix_item(golden)
    query = f"format={fmt}&metadata=true{EXTRA.get(kind, '')}"
    out, _ = _rows(client, project, kind, query)
    mine = [r for r in out if _prompt_id(r) == p.pk]
    assert len(mine) == rows
    for row in mine:
        assert {key: row["metadata"][key] for key in origin} == origin
        assert row["metadata"]["label_id"] == label.pk
    # Training rows carry no evaluation keys.
    assert not any("triage" in r["metadata"] for r in out if _prompt_id(r) != p.pk)
    # Without metadata the row is there all the same.
    plain, _ = _rows(client, project, kind, f"format={fmt}{EXTRA.get(kind, '')}")
    assert any(b"fixed" in orjson.dumps(r) for r in plain)


def test_evaluation_pairs_are_held_out_by_default(golden, api):
    client, project = api(golden.users["eve"]), golden.project
    p, (c1, c2) = b.prompt(project, "Held out: evaluate me", candidates=["Test answer.", "Baseline answer."])
    Prompt.objects.filter(pk=p.pk).update(held_out=True)
    item = WorkItem.objects.create(
        project=project, prompt=p, kind="comparison", purpose="evaluation", candidate_ids=[c1.pk, c2.pk], overlap=1,
        origin={"evaluation_run": 1, "evaluation_set": 1},
    )  # fmt: skip
    b.label(item, golden.users["bob"], golden.versions[1], ranks={c1: 1, c2: 2})
    rows, _ = _rows(client, project, "rankings", "")
    assert not any(r["prompt_id"] == p.pk for r in rows)
    rows, _ = _rows(client, project, "rankings", "include_held_out=true")
    assert [r["prompt_id"] for r in rows].count(p.pk) == 1


@pytest.fixture
def no_broker(monkeypatch):
    monkeypatch.setattr(tasks.snapshot_build_task, "apply_async", lambda **kw: None)


@pytest.mark.parametrize("include", [False, True])
def test_snapshot_manifest_says_what_the_guard_did(
    golden, api, no_broker, include, settings, django_capture_on_commit_callbacks
):
    client, project = api(golden.users["eve"]), golden.project
    before, _ = _rows(client, project, "preferences", "format=trl-preference&metadata=true")
    held = _held(golden, "p1_alice")
    expected_out = sum(1 for r in before if _prompt_id(r) in held)
    body = {"kind": "preferences", "format": "trl-preference", "metadata": True}
    if include:
        body["include_held_out"] = True
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/projects/{project.pk}/snapshots", body, format="json")
    assert response.status_code == 202, response.content
    snap = ExportSnapshot.objects.get(pk=response.json()["id"])
    snap = services.snapshot_build(snapshot_id=snap.pk, task_id=snap.task_id)
    assert snap.status == SnapshotStatus.DONE, snap.error
    manifest = snap.manifest
    assert manifest["held_out"] == {"included": include, "rows_left_out": 0 if include else expected_out}
    assert expected_out > 0
    if include:
        assert snap.rows == len(before)
        assert manifest["notes"] == [HELD_OUT_INCLUDED_NOTE]
        assert "held_out" not in manifest["counts"]["left_out"]
    else:
        assert snap.rows == len(before) - expected_out
        assert manifest["counts"]["left_out"]["held_out"] == expected_out
    data = (settings.MEDIA_ROOT / snap.relative_path).read_bytes()
    assert any(_prompt_id(orjson.loads(line)) in held for line in data.splitlines()) == include


def test_reference_candidates_of_a_held_out_prompt_stay_out(golden, api):
    """A reference answer is a candidate of a held-out prompt: nothing of that prompt leaves."""
    client, project = api(golden.users["eve"]), golden.project
    held = _held(golden, "p2_alice")
    Candidate.objects.create(prompt_id=next(iter(held)), content="Reference.", source="reference")
    rows, _ = _rows(client, project, "rankings", "")
    assert not any(r["prompt_id"] in held for r in rows)
