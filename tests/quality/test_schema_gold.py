"""Gold answers for any question of the labeling schema: validated against the project's current schema
with a field error per problem, checked against each label with the schema of the label's own version
(a scale within the tolerance), and counted in the statistics; "unsure" is the margin-0 strength level."""

import pytest

from labelhub.core.exceptions import ApplicationError
from labelhub.labeling.models import WorkItem
from labelhub.projects.rubric import schema_of
from labelhub.quality import services
from labelhub.quality.models import GoldStandard, QualityEvent
from labelhub.quality.stats import project_stats_compute

from ..exports import builders as b
from ..factories import UserFactory
from .test_schema_stats import CUSTOM, project_with, publish

pytestmark = pytest.mark.django_db


def gold_item(project):
    p, cands = b.prompt(project, "Which is better?", track="general", candidates=["one", "two"])
    return b.comparison(project, p, cands), [str(c.pk) for c in cands]


def refused(item, staff, data) -> dict:
    with pytest.raises(ApplicationError) as exc:
        services.gold_set(work_item_id=item.pk, user=staff, data=data)
    assert not GoldStandard.objects.filter(work_item=item).exists() and not QualityEvent.objects.exists()
    return exc.value.extra.get("fields") or {"": [exc.value.message]}


def test_gold_answers_for_every_question_type(staff):
    project, _version = project_with(staff, preset="minimal", schema=CUSTOM)
    item, (a, c) = gold_item(project)
    expected = {
        a: {"grade": 3, "on_topic": True, "tone": "formal", "issues": ["wrong", "typo"]},
        c: {"on_topic": False},
    }
    gold = services.gold_set(
        work_item_id=item.pk, user=staff, data={"answers": expected, "tolerance": 1, "ranking": {a: 1, c: 2}}
    )
    gold.refresh_from_db()
    assert gold.answers == {a: expected[a] | {"issues": ["typo", "wrong"]}, c: {"on_topic": False}}
    assert gold.tolerance == 1 and gold.pairs == [[a, c]]
    assert QualityEvent.objects.get().details["expected"]["answers"] == gold.answers
    schema = schema_of(CUSTOM)
    ranks = {a: 1, c: 2}
    right = {a: {"grade": 2, "on_topic": True, "tone": "formal", "issues": ["typo", "wrong", "long"]}, c: {}}
    right[c]["on_topic"] = False
    assert services.gold_correct(gold, ranks=ranks, answers=right, all_bad=False, schema=schema, track="general")
    for name, value in [("grade", 1), ("on_topic", False), ("tone", "casual"), ("issues", ["typo"])]:
        wrong = {a: right[a] | {name: value}, c: right[c]}
        assert not services.gold_correct(gold, ranks=ranks, answers=wrong, all_bad=False, schema=schema), name
    assert not services.gold_correct(gold, ranks={a: 2, c: 1}, answers=right, all_bad=False, schema=schema)


def test_gold_input_is_checked_against_the_current_schema(staff):
    project, _version = project_with(staff, preset="minimal", schema=CUSTOM)
    item, (a, c) = gold_item(project)
    fields = refused(
        item,
        staff,
        {
            "answers": {
                a: {"grade": 9, "on_topic": "yes", "tone": "sarcastic", "issues": ["nope"], "comment": "hi"},
                c: {"colour": 1},
            },
            "tolerance": 11,
        },
    )
    assert fields[f"answers.{a}.grade"] == ["Expected an integer from 1 to 3."]
    assert fields[f"answers.{a}.on_topic"] == ["Expected true or false."]
    assert "formal, casual, rude" in fields[f"answers.{a}.tone"][0]
    assert "typo, wrong, long" in fields[f"answers.{a}.issues"][0]
    assert fields[f"answers.{a}.comment"] == ["Text answers cannot be gold."]
    assert fields[f"answers.{c}.colour"] == ["Unknown question."]
    assert "tolerance" in fields
    assert "flags" in refused(item, staff, {"flags": {a: ["hallucination"]}})  # this schema has no flags question
    assert "answers" in refused(item, staff, {"answers": {"999": {"grade": 1}}})  # not a candidate
    assert "answers" in refused(item, staff, {"answers": ["grade"]})
    assert refused(item, staff, {"answers": {a: {"issues": []}}})  # an empty answer says nothing


def test_gold_without_a_ranking_or_all_bad(staff):
    project, _version = project_with(staff, preset="helpsteer")
    item, (a, c) = gold_item(project)
    assert refused(item, staff, {"ranking": {a: 1, c: 2}}) == {"ranking": ["This project's schema has no ranking."]}
    assert "all_bad" in refused(item, staff, {"all_bad": True})
    gold = services.gold_set(work_item_id=item.pk, user=staff, data={"answers": {a: {"verbosity": 0}}})
    assert gold.answers == {a: {"verbosity": 0}} and gold.pairs == []


def test_each_label_is_checked_with_its_own_version(staff):
    """v1 asks grade 1–3; v2 drops it and asks tone. A gold answer on both counts for a v1 label only
    on grade and for a v2 label only on tone; the statistics count gold accuracy that way."""
    project, v1 = project_with(staff, preset="minimal", schema=dict(CUSTOM, questions=CUSTOM["questions"][:2]))
    item, (a, c) = gold_item(project)
    WorkItem.objects.filter(pk=item.pk).update(overlap=10)
    v2 = publish(project, staff, dict(CUSTOM, questions=[CUSTOM["questions"][2]]))
    gold = services.gold_set(
        work_item_id=item.pk, user=staff, data={"answers": {a: {"tone": "formal"}}, "ranking": {a: 1, c: 2}}
    )
    GoldStandard.objects.filter(pk=gold.pk).update(answers={a: {"tone": "formal", "grade": 3}}, tolerance=1)
    gold.refresh_from_db()
    ranks = {a: 1, c: 2}
    users = [UserFactory(username=f"gold-{i}") for i in range(4)]
    b.label(item, users[0], v1, ranks=ranks, ratings={a: {"grade": 2}})  # v1: grade within the tolerance
    b.label(item, users[1], v1, ranks=ranks, ratings={a: {"grade": 1}})  # off by one more than the tolerance
    b.label(item, users[2], v2, ranks=ranks, ratings={a: {"tone": "formal"}})  # v2: tone right
    b.label(item, users[3], v2, ranks=ranks, ratings={a: {"tone": "rude", "grade": 2}})  # tone wrong
    v1_schema, v2_schema = schema_of(v1.schema), schema_of(v2.schema)
    given = {a: {"grade": 2}}
    assert services.gold_correct(gold, ranks=ranks, answers=given, all_bad=False, schema=v1_schema, track="general")
    assert not services.gold_correct(gold, ranks=ranks, answers=given, all_bad=False, schema=v2_schema)  # tone
    # Without a schema, every expected answer counts (tone is missing).
    assert not services.gold_correct(gold, ranks=ranks, answers=given, all_bad=False)
    rows = {row["username"]: row["gold"] for row in project_stats_compute(project=project)["labelers"]}
    assert [rows[f"gold-{i}"]["accuracy"] for i in range(4)] == [1.0, 0.0, 1.0, 0.0]


def test_unsure_is_the_level_of_margin_zero(staff):
    """The custom schema's margin-0 level ("toss_up") sends a complete item for one more label."""
    project, version = project_with(staff, preset="minimal", schema=CUSTOM)
    p, cands = b.prompt(project, "Unsure?", track="general", candidates=["x", "y"])
    item = b.comparison(project, p, cands, overlap=2)
    ranks = {str(cands[0].pk): 1, str(cands[1].pk): 2}
    b.label(item, UserFactory(username="sure"), version, ranks=ranks, strength="clear")
    b.label(item, UserFactory(username="toss"), version, ranks=ranks, strength="toss_up")
    assert services.item_check_disagreement(work_item_id=item.pk) == "raised"
    assert QualityEvent.objects.get().details["unsure"] is True
    p, cands = b.prompt(project, "Sure", track="general", candidates=["x", "y"])
    other = b.comparison(project, p, cands, overlap=2)
    ranks = {str(cands[0].pk): 1, str(cands[1].pk): 2}
    b.label(other, UserFactory(username="sure2"), version, ranks=ranks, strength="clear")
    b.label(other, UserFactory(username="sure3"), version, ranks=ranks, strength="negligibly_better")  # not a level
    assert services.item_check_disagreement(work_item_id=other.pk) is None


def test_gold_api_takes_and_returns_answers(staff, api):
    project, _version = project_with(staff, preset="minimal", schema=CUSTOM)
    item, (a, c) = gold_item(project)
    client = api(staff)
    bad = client.put(f"/api/v1/work-items/{item.pk}/gold", {"answers": {a: {"grade": 0}}}, format="json")
    assert bad.status_code == 400 and bad.json()["extra"]["fields"] == {
        f"answers.{a}.grade": ["Expected an integer from 1 to 3."]
    }
    body = {"answers": {a: {"grade": 2, "tone": "rude"}, c: {"issues": ["long"]}}, "tolerance": 1}
    response = client.put(f"/api/v1/work-items/{item.pk}/gold", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["answers"] == body["answers"] and response.json()["tolerance"] == 1
    listed = client.get(f"/api/v1/projects/{project.pk}/gold").json()
    assert listed["results"][0]["answers"] == body["answers"]
