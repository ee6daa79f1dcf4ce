"""Quality statistics for any labeling schema: agreement per question at the level its shape needs,
histograms over each question's own values, strength from the schema's levels, pooling across schema
versions only where a question's definition is unchanged. Labels carry planted agreement (every
labeler gives the same answer) or planted noise (independent random answers)."""

import random

import pytest

from labelhub.projects import services as project_services
from labelhub.projects.rubric import PRESETS
from labelhub.projects.selectors import project_schema
from labelhub.quality.shapes import definition_digest, question_groups, question_level, unsure_levels
from labelhub.quality.stats import project_stats_compute

from ..exports import builders as b
from ..factories import UserFactory

pytestmark = pytest.mark.django_db

ITEMS = 40
LABELERS = 3

CUSTOM = {
    "tracks": [{"name": "general", "label": "General"}],
    "questions": [
        {"name": "grade", "type": "scale", "label": "Grade", "min": 1, "max": 3},
        {"name": "on_topic", "type": "binary", "label": "On topic?"},
        {"name": "tone", "type": "choice", "label": "Tone", "options": ["formal", "casual", "rude"]},
        {"name": "issues", "type": "multi", "label": "Issues", "options": ["typo", "wrong", "long"], "required": False},
        {"name": "comment", "type": "text", "label": "Comment", "required": False},
    ],
    "ranking": {"enabled": True, "ties": True, "all_bad": True},
    "strength": {"levels": [{"name": "clear", "label": "Clearly", "margin": 2}, {"name": "toss_up", "margin": 0}]},
    "safety": {"enabled": False, "required_on": []},
}


def project_with(staff, *, preset="hhh", schema=None, name="Schema stats"):
    project = project_services.project_create(user=staff, name=name, preset=preset, candidates_per_prompt=2)
    if schema is not None:
        project_services.guideline_draft_save(project=project, user=staff, schema=schema)
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v", content="x")
    return project, version


def publish(project, staff, schema):
    project_services.guideline_draft_save(project=project, user=staff, schema=schema)
    return project_services.guideline_version_publish(project=project, user=staff, change_note="v", content="x")


def label_items(
    project, version, answer, *, items=ITEMS, users=None, seed=1, prefix="q", ranked=True, overlap=None, **fields
):
    """`items` comparison items of two candidates, each labeled by every user; answer(rng, unit, user)
    returns one candidate's answers ({question: value}); unit = (item index, candidate index)."""
    rng = random.Random(seed)
    track = project_schema(project=project).track_names[0]
    users = users or [UserFactory(username=f"{prefix}-labeler-{i}") for i in range(LABELERS)]
    made = []
    for i in range(items):
        p, cands = b.prompt(project, f"{prefix} {i}", track=track, candidates=[f"a {i}", f"b {i}"])
        item = b.comparison(project, p, cands, overlap=overlap or len(users))
        for u, user in enumerate(users):
            answers = {str(c.pk): answer(rng, (i, j), u) for j, c in enumerate(cands)}
            flags = {cid: a.pop("flags") for cid, a in answers.items() if "flags" in a}
            ranks = {str(cands[0].pk): 1, str(cands[1].pk): 2} if ranked else {}
            b.label(item, user, version, ranks=ranks, ratings=answers, flags=flags, **fields)
        made.append((item, cands))
    return users, made


def by_key(rows) -> dict:
    return {row["key"]: row for row in rows}


def seeded(unit, salt="") -> random.Random:
    """A generator shared by every labeler of a unit: planted agreement."""
    return random.Random(f"{unit}{salt}")


def test_shapes_of_the_question_types():
    schema = project_services.labeling_schema_check(CUSTOM)
    levels = {q.name: question_level(q) for q in schema.questions}
    assert levels == {"grade": "interval", "on_topic": "nominal", "tone": "nominal", "issues": "set", "comment": None}
    assert unsure_levels(PRESETS["hhh"]) == {"negligibly_better"} and unsure_levels(schema) == {"toss_up"}
    assert unsure_levels(PRESETS["helpsteer"]) == set()
    reworded = project_services.labeling_schema_check(
        CUSTOM | {"questions": [CUSTOM["questions"][0] | {"label": "Overall grade", "hint": "new"}]}
    )
    assert definition_digest(reworded.questions[0]) == definition_digest(schema.questions[0])
    rescaled = project_services.labeling_schema_check(CUSTOM | {"questions": [CUSTOM["questions"][0] | {"max": 5}]})
    assert definition_digest(rescaled.questions[0]) != definition_digest(schema.questions[0])
    groups, lookup = question_groups({1: schema, 2: reworded, 3: rescaled})
    assert groups["grade@v1"].versions == [1, 2] and groups["grade@v3"].versions == [3]
    assert groups["grade@v1"].question.label == "Overall grade"  # the latest wording of the definition
    assert lookup[(2, "grade")] == "grade@v1" and lookup[(3, "grade")] == "grade@v3"
    assert "comment" not in groups and groups["issues"].versions == [1]


def test_hhh_alpha_per_question_histograms_and_strength(staff):
    project, version = project_with(staff)

    def answer(rng, unit, user):
        shared = seeded(unit)
        return {
            "helpful": shared.randint(1, 7),  # planted agreement
            "truthful": rng.randint(1, 7),  # planted noise
            "harmless": shared.randint(1, 7) if user else max(1, shared.randint(1, 7) - 1),  # one labeler off by 1
            "flags": ["hallucination"] if shared.random() < 0.3 else [],
        }

    label_items(project, version, answer, strength="negligibly_better")
    data = project_stats_compute(project=project)
    alpha = by_key(data["agreement"]["questions"])
    assert set(alpha) == {"helpful", "truthful", "harmless", "flags"}
    assert alpha["helpful"]["value"] == pytest.approx(1.0) and alpha["helpful"]["level"] == "interval"
    assert -0.3 < alpha["truthful"]["value"] < 0.3
    assert 0.7 < alpha["harmless"]["value"] < 1.0
    for row in alpha.values():
        assert row["enough_data"] and row["items"] == ITEMS and row["versions"] == [version.number]
    truthful = alpha["truthful"]
    assert truthful["low"] <= truthful["value"] <= truthful["high"] and truthful["high"] - truthful["low"] > 0.05
    assert alpha["flags"]["level"] == "set" and alpha["flags"]["options"]["hallucination"]["value"] == 1.0
    assert alpha["flags"]["options"]["wrong language"]["value"] is None  # never ticked: undefined
    assert data["agreement"]["alpha"]["helpful"] == alpha["helpful"]["value"]
    hist = by_key(data["distributions"]["questions"])
    assert [c["value"] for c in hist["helpful"]["counts"]] == list(range(1, 8))
    assert sum(c["n"] for c in hist["truthful"]["counts"]) == ITEMS * 2 * LABELERS
    flags = hist["flags"]
    assert flags["none"] + next(c["n"] for c in flags["counts"] if c["value"] == "hallucination") == ITEMS * 2 * 3
    levels = data["distributions"]["strength_levels"]
    assert [lv["name"] for lv in levels] == PRESETS["hhh"].strength_names()
    assert [lv["name"] for lv in levels if lv["unsure"]] == ["negligibly_better"]
    assert data["distributions"]["unsure"] == ITEMS * LABELERS


def test_helpsteer_without_ranking(staff):
    project, version = project_with(staff, preset="helpsteer")
    names = [q.name for q in PRESETS["helpsteer"].questions]

    def answer(rng, unit, user):
        shared = seeded(unit)
        return {name: shared.randint(0, 4) if i % 2 == 0 else rng.randint(0, 4) for i, name in enumerate(names)}

    label_items(project, version, answer, ranked=False)
    data = project_stats_compute(project=project)
    alpha = by_key(data["agreement"]["questions"])
    assert list(alpha) == names
    for i, name in enumerate(names):
        value = alpha[name]["value"]
        assert value == pytest.approx(1.0) if i % 2 == 0 else -0.3 < value < 0.3, (name, value)
        assert (alpha[name]["min"], alpha[name]["max"]) == (0, 4)
    hist = by_key(data["distributions"]["questions"])
    assert [c["value"] for c in hist["verbosity"]["counts"]] == [0, 1, 2, 3, 4]
    assert data["agreement"]["pairwise"]["value"] is None  # nothing ranked
    assert data["distributions"]["strength_levels"] == [] and data["distributions"]["strength"] == {}
    assert [s["key"] for s in data["leaderboard_scales"]] == names


def test_ultrafeedback_scales_one_to_five(staff):
    project, version = project_with(staff, preset="ultrafeedback")
    names = [q.name for q in PRESETS["ultrafeedback"].questions]

    def answer(rng, unit, user):
        return {name: seeded(unit, name).randint(1, 5) for name in names}

    label_items(project, version, answer)
    data = project_stats_compute(project=project)
    alpha = by_key(data["agreement"]["questions"])
    assert list(alpha) == names and all(row["value"] == pytest.approx(1.0) for row in alpha.values())
    hist = by_key(data["distributions"]["questions"])
    assert [c["value"] for c in hist["honesty"]["counts"]] == [1, 2, 3, 4, 5]
    assert data["agreement"]["pairwise"]["value"] == 1.0  # every labeler ranks a over b


def test_custom_schema_of_every_question_type(staff):
    project, version = project_with(staff, preset="minimal", schema=CUSTOM)

    def answer(rng, unit, user):
        shared = seeded(unit)
        issues = ["typo"] if shared.random() < 0.5 else []
        issues += ["wrong"] if rng.random() < 0.5 else []
        return {
            "grade": shared.randint(1, 3),
            "on_topic": shared.random() < 0.5,
            "tone": rng.choice(["formal", "casual", "rude"]),
            "issues": issues,
            "comment": f"free text {user}",
        }

    label_items(project, version, answer, strength="toss_up")
    data = project_stats_compute(project=project)
    alpha = by_key(data["agreement"]["questions"])
    assert list(alpha) == ["grade", "on_topic", "tone", "issues"]  # text is not counted
    assert [alpha[k]["level"] for k in alpha] == ["interval", "nominal", "nominal", "set"]
    assert alpha["grade"]["value"] == pytest.approx(1.0) and alpha["on_topic"]["value"] == pytest.approx(1.0)
    assert -0.3 < alpha["tone"]["value"] < 0.3
    options = alpha["issues"]["options"]
    assert options["typo"]["value"] == pytest.approx(1.0) and -0.3 < options["wrong"]["value"] < 0.3
    assert options["long"]["value"] is None  # never ticked
    assert 0.2 < alpha["issues"]["value"] < 0.9  # pooled over options: between the two
    hist = by_key(data["distributions"]["questions"])
    assert [c["value"] for c in hist["on_topic"]["counts"]] == [False, True]
    assert [c["value"] for c in hist["tone"]["counts"]] == ["formal", "casual", "rude"]
    assert sum(c["n"] for c in hist["tone"]["counts"]) == ITEMS * 2 * LABELERS
    assert data["distributions"]["unsure"] == ITEMS * LABELERS
    assert [(lv["name"], lv["label"], lv["unsure"]) for lv in data["distributions"]["strength_levels"]] == [
        ("clear", "Clearly", False),
        ("toss_up", "Toss up", True),
    ]


def test_versions_pool_only_unchanged_questions(staff):
    """v1 asks grade 1–3 and tone; v2 rescales grade to 1–5 and keeps tone. Tone pools across the
    versions; grade is reported once per definition, never pooled."""
    project, v1 = project_with(staff, preset="minimal", schema=CUSTOM)
    v2_schema = dict(CUSTOM, questions=[CUSTOM["questions"][0] | {"max": 5}, CUSTOM["questions"][2]])
    v2 = publish(project, staff, v2_schema)

    def tone(unit):
        return seeded(unit, "tone").choice(["formal", "casual"])

    def answer(rng, unit, user):
        return {"grade": seeded(unit, "grade").randint(1, 3), "tone": tone(unit), "on_topic": True}

    _users, made = label_items(project, v1, answer, items=12, seed=3, overlap=LABELERS + 2)
    # v2 labels: two more labelers on the same items (tone pools into the same units), grade noisy.
    rng = random.Random(9)
    for k in range(2):
        user = UserFactory(username=f"late-{k}")
        for i, (item, cands) in enumerate(made):
            ratings = {str(c.pk): {"grade": rng.randint(1, 5), "tone": tone((i, j))} for j, c in enumerate(cands)}
            b.label(item, user, v2, ranks={str(cands[0].pk): 1, str(cands[1].pk): 2}, ratings=ratings)
    data = project_stats_compute(project=project)
    alpha = by_key(data["agreement"]["questions"])
    assert set(alpha) == {"grade@v1", "grade@v2", "on_topic", "tone", "issues"}
    assert alpha["grade@v1"]["versions"] == [1] and alpha["grade@v2"]["versions"] == [2]
    assert alpha["grade@v1"]["value"] == pytest.approx(1.0) and alpha["grade@v1"]["max"] == 3
    assert alpha["grade@v2"]["max"] == 5 and alpha["grade@v2"]["values"] == 12 * 2 * 2
    assert alpha["grade@v1"]["digest"] != alpha["grade@v2"]["digest"]
    assert alpha["tone"]["versions"] == [1, 2] and alpha["tone"]["value"] == pytest.approx(1.0)
    assert alpha["tone"]["values"] == 12 * 2 * (LABELERS + 2)  # pooled: every label of both versions
    hist = by_key(data["distributions"]["questions"])
    assert len(hist["grade@v1"]["counts"]) == 3 and len(hist["grade@v2"]["counts"]) == 5
    assert [row["version"] for row in data["schema_versions"]] == [v1.number, v2.number]


def test_few_items_are_not_enough_data(staff):
    project, version = project_with(staff)
    label_items(project, version, lambda rng, unit, user: {"helpful": rng.randint(1, 7)}, items=3, prefix="few")
    helpful = by_key(project_stats_compute(project=project)["agreement"]["questions"])["helpful"]
    assert helpful["items"] == 3 and helpful["enough_data"] is False
    assert helpful["value"] is not None and helpful["low"] <= helpful["value"] <= helpful["high"]
