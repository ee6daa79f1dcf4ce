import threading

import pytest
from django.db import connection

from labelhub.core.exceptions import ApplicationError, Conflict
from labelhub.evaluation.models import EvaluationRun, EvaluationSet, EvaluationSetPrompt
from labelhub.evaluation.services.sets import evaluation_set_create, evaluation_set_delete
from labelhub.generation.models import ModelConfig
from labelhub.prompts.models import Candidate, Prompt
from labelhub.prompts.parsing import content_hash

pytestmark = pytest.mark.django_db


def make_prompt(project, text, *, tags=(), track="helpful", external_id=None):
    messages = [{"role": "user", "content": text}]
    return Prompt.objects.create(
        project=project,
        messages=messages,
        text=text,
        content_hash=content_hash(messages),
        track=track,
        tags=list(tags),
        external_id=external_id,
    )


@pytest.fixture
def prompts(project):
    out = {}
    for i in range(12):
        tags = ["math"] if i % 2 == 0 else ["chat"]
        if i % 3 == 0:
            tags.append("hard")
        out[i] = make_prompt(
            project, f"Prompt {i}", tags=tags, track="code" if i < 6 else "helpful", external_id=f"e{i}"
        )
    return out


def chosen(evaluation_set):
    return sorted(EvaluationSetPrompt.objects.filter(evaluation_set=evaluation_set).values_list("prompt_id", flat=True))


def test_tags_all_of_them_track_and_ids_combine(project, staff, prompts):
    s = evaluation_set_create(project=project, user=staff, name="math hard", tags=["math", "hard"])
    assert chosen(s) == sorted(p.pk for i, p in prompts.items() if i % 6 == 0)
    s2 = evaluation_set_create(project=project, user=staff, name="code math", tags=["math"], track="code")
    assert chosen(s2) == [prompts[i].pk for i in (0, 2, 4)]
    ids = [prompts[1].pk, prompts[2].pk, prompts[7].pk]
    s3 = evaluation_set_create(project=project, user=staff, name="ids", prompt_ids=[str(i) for i in ids], tags=["chat"])
    assert chosen(s3) == [prompts[1].pk, prompts[7].pk]
    assert s3.selection == {"tags": ["chat"], "track": "", "prompt_ids": sorted(ids), "sample": None, "seed": None}
    assert s3.prompt_count == 2 and s3.version == 1


def test_seeded_sample_is_reproducible_and_the_seed_is_stored(project, staff, prompts):
    a = evaluation_set_create(project=project, user=staff, name="s", sample=5, seed=42)
    b = evaluation_set_create(project=project, user=staff, name="s", sample=5, seed=42)
    assert chosen(a) == chosen(b) and len(chosen(a)) == 5
    assert (a.version, b.version) == (1, 2)
    drawn = evaluation_set_create(project=project, user=staff, name="drawn", sample=4)
    assert isinstance(drawn.selection["seed"], int)
    again = evaluation_set_create(project=project, user=staff, name="drawn", sample=4, seed=drawn.selection["seed"])
    assert chosen(again) == chosen(drawn)
    # A sample larger than the selection takes all of it.
    everything = evaluation_set_create(project=project, user=staff, name="all", sample=100, seed=1)
    assert len(chosen(everything)) == 12


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"tags": ["nope"]}, "prompt_ids"),
        ({"prompt_ids": [10**12]}, "prompt_ids"),
        ({"prompt_ids": ["١٢"]}, "prompt_ids"),
        ({"sample": 0}, "sample"),
        ({"sample": "many"}, "sample"),
        ({"seed": -1}, "seed"),
        ({"references": {"nope": "x"}}, "references"),
        ({"references": {"e0": ""}}, "references"),
        ({"references": ["e0"]}, "references"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(project, staff, prompts, kwargs, field):
    kwargs = {"name": "set", **kwargs}
    with pytest.raises(ApplicationError) as exc:
        evaluation_set_create(project=project, user=staff, **kwargs)
    assert exc.value.status_code == 400
    assert field in exc.value.extra["fields"], exc.value.message
    assert not EvaluationSet.objects.exists()
    assert not Prompt.objects.filter(held_out=True).exists()


def test_ids_of_another_project_are_refused(project, staff, prompts, make_project):
    other = make_prompt(make_project("Other"), "theirs")
    with pytest.raises(ApplicationError) as exc:
        evaluation_set_create(project=project, user=staff, name="x", prompt_ids=[prompts[0].pk, other.pk])
    assert exc.value.extra["fields"] == {"prompt_ids": [f"The project has no prompt {other.pk}."]}


def test_the_cap(project, staff, prompts, settings):
    settings.EVALUATION_SET_MAX_PROMPTS = 5
    with pytest.raises(ApplicationError) as exc:
        evaluation_set_create(project=project, user=staff, name="x")
    assert "sample" in exc.value.extra["fields"]
    assert evaluation_set_create(project=project, user=staff, name="x", sample=5).prompt_count == 5


def test_references_by_id_or_external_id(project, staff, prompts):
    s = evaluation_set_create(
        project=project,
        user=staff,
        name="refs",
        prompt_ids=[prompts[0].pk, prompts[1].pk, prompts[2].pk],
        references={"e0": "Zero.", str(prompts[1].pk): "One."},
    )
    members = {m.prompt_id: m for m in EvaluationSetPrompt.objects.filter(evaluation_set=s).select_related("reference")}
    assert members[prompts[0].pk].reference.content == "Zero."
    assert members[prompts[0].pk].reference.source == "reference"
    assert members[prompts[0].pk].reference.prompt_id == prompts[0].pk
    assert members[prompts[1].pk].reference.content == "One."
    assert members[prompts[2].pk].reference is None
    assert Candidate.objects.filter(source="reference").count() == 2


def test_held_out_on_create_and_delete(project, staff, prompts, django_assert_num_queries):
    a = evaluation_set_create(project=project, user=staff, name="a", prompt_ids=[prompts[0].pk, prompts[1].pk])
    b = evaluation_set_create(
        project=project, user=staff, name="b", prompt_ids=[prompts[1].pk, prompts[2].pk], references={"e2": "Two."}
    )
    held = set(Prompt.objects.filter(held_out=True).values_list("pk", flat=True))
    assert held == {prompts[0].pk, prompts[1].pk, prompts[2].pk}
    evaluation_set_delete(evaluation_set=b)
    held = set(Prompt.objects.filter(held_out=True).values_list("pk", flat=True))
    assert held == {prompts[0].pk, prompts[1].pk}  # prompt 1 is still in set a
    assert not Candidate.objects.filter(source="reference").exists()
    evaluation_set_delete(evaluation_set=a)
    assert not Prompt.objects.filter(held_out=True).exists()


def test_a_set_with_runs_cannot_be_deleted(project, staff, prompts):
    s = evaluation_set_create(project=project, user=staff, name="a", prompt_ids=[prompts[0].pk])
    config = ModelConfig.objects.create(project=project, name="m", base_url="http://127.0.0.1:9/v1", model="m")
    EvaluationRun.objects.create(
        project=project, evaluation_set=s, number=1, model_config=config, baseline_kind="reference"
    )
    with pytest.raises(Conflict) as exc:
        evaluation_set_delete(evaluation_set=s)
    assert exc.value.status_code == 409
    assert Prompt.objects.get(pk=prompts[0].pk).held_out


def test_create_queries_do_not_grow_with_the_set(project, staff, django_assert_max_num_queries):
    small = [make_prompt(project, f"s{i}", tags=["small"]) for i in range(3)]
    big = [make_prompt(project, f"b{i}", tags=["big"]) for i in range(60)]
    refs_small = {str(p.pk): "r" for p in small}
    refs_big = {str(p.pk): "r" for p in big}
    with django_assert_max_num_queries(12) as small_queries:
        evaluation_set_create(project=project, user=staff, name="x", tags=["small"], references=refs_small)
    with django_assert_max_num_queries(12) as big_queries:
        evaluation_set_create(project=project, user=staff, name="y", tags=["big"], references=refs_big)
    assert len(small_queries.captured_queries) == len(big_queries.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_and_a_delete_leave_held_out_right(project, staff):
    ps = [make_prompt(project, f"c{i}") for i in range(20)]
    ids = [p.pk for p in ps]
    doomed = evaluation_set_create(project=project, user=staff, name="doomed", prompt_ids=ids[:10])
    barrier = threading.Barrier(3)
    errors = []

    def run(fn):
        try:
            barrier.wait()
            fn()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    jobs = [
        lambda: evaluation_set_create(project=project, user=staff, name="same", prompt_ids=ids[5:15]),
        lambda: evaluation_set_create(project=project, user=staff, name="same", prompt_ids=ids[8:20]),
        lambda: evaluation_set_delete(evaluation_set=doomed),
    ]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(EvaluationSet.objects.filter(name="same").values_list("version", flat=True)) == [1, 2]
    held = set(Prompt.objects.filter(held_out=True).values_list("pk", flat=True))
    assert held == set(ids[5:20])


def test_prompt_reimport_keeps_held_out(project, staff, monkeypatch):
    import json

    from labelhub.labeling import tasks as labeling_tasks
    from labelhub.prompts import services as prompt_services

    monkeypatch.setattr(labeling_tasks.work_items_sync_task, "apply_async", lambda **kw: None)
    body = "".join(json.dumps({"prompt": f"Q{i}", "id": f"q{i}"}) + "\n" for i in range(3)).encode()

    def run_import():
        imp = prompt_services.prompt_import_start(project=project, user=staff, chunks=iter([body]), filename="p.jsonl")
        assert imp.status == "done", imp.message

    run_import()
    first = Prompt.objects.get(project=project, external_id="q1")
    evaluation_set_create(project=project, user=staff, name="a", prompt_ids=[first.pk])
    run_import()
    assert list(Prompt.objects.filter(project=project, held_out=True).values_list("pk", flat=True)) == [first.pk]
