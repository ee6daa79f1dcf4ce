"""Every export format reads each label with the labeling schema of its own guideline version:
HelpSteer (no ranking), UltraFeedback (no strength), and a custom schema whose two versions differ in
questions, question order, strength margins, KTO rule and tracks, exported together."""

import json
import os

import pytest
from django.urls import reverse

from labelhub.core.exceptions import ApplicationError
from labelhub.exports import services
from labelhub.exports.models import SnapshotStatus
from labelhub.exports.params import FORMATS, export_params_parse
from labelhub.projects.rubric import PRESETS, Schema, SchemaInvalid, schema_of

from . import builders as b
from .conftest import CUSTOM_V1, add_labelers, publish_schema
from .test_golden import GOLDEN, TIMESTAMP, _name


def fetch(client, project, kind, query=""):
    response = client.get(f"/api/v1/projects/{project.pk}/exports/{kind}.jsonl?{query}")
    return response, (b"".join(response.streaming_content) if response.status_code == 200 else b"")


def rows(client, project, kind, query=""):
    response, body = fetch(client, project, kind, query)
    assert response.status_code == 200, response.content
    assert body == b"" or body.endswith(b"\n")
    return [json.loads(line) for line in body.splitlines()]


def snapshot(project, user, kind, raw=None):
    made = services.snapshot_create(project=project, user=user, kind=kind, raw=raw or {}, send=False)
    built = services.snapshot_build(snapshot_id=made.pk, task_id=made.task_id)
    assert built.status == SnapshotStatus.DONE, built.error
    return built.manifest


def by_label_and_candidate(kto_rows):
    return {(r["metadata"]["label_id"], r["metadata"]["candidate"]["candidate_id"]): r["label"] for r in kto_rows}


# --- a custom schema, two versions in one export (the `custom` fixture: conftest.py) ------------------


@pytest.mark.django_db
def test_custom_schema_every_format_gives_valid_jsonl(custom, api, staff):
    client = api(staff)
    expected = {"sft": 1, "preferences": 6, "kto": 7, "rankings": 2}
    for kind, formats in FORMATS.items():
        for fmt in formats:
            got = rows(client, custom["project"], kind, f"format={fmt}&metadata=true")
            assert len(got) == expected[kind], (kind, fmt, got)


@pytest.mark.django_db
def test_custom_schema_margins_come_from_each_labels_version(custom, api, staff):
    client, c, labels = api(staff), custom["c"], custom["labels"]
    got = rows(client, custom["project"], "preferences", "format=trl-preference&metadata=true")
    pairs = {
        (
            r["metadata"]["label_id"],
            r["metadata"]["chosen"]["candidate_id"],
            r["metadata"]["rejected"]["candidate_id"],
        ): (
            r.get("margin"),
            r["metadata"]["strength"],
            r["metadata"]["guideline_version"],
        )
        for r in got
    }
    l1, l2, l3, l4 = (labels[k].pk for k in ("l1", "l2", "l3", "l4"))
    assert pairs == {
        (l1, c["c1"].pk, c["c2"].pk): (5, "clearly", 1),
        (l2, c["c1"].pk, c["c2"].pk): (9, "decisively", 2),
        (l3, c["c2"].pk, c["c1"].pk): (4, "somewhat", 2),
        (l4, c["c3"].pk, c["c4"].pk): (None, None, 2),
        (l4, c["c3"].pk, c["c5"].pk): (None, None, 2),
        (l4, c["c4"].pk, c["c5"].pk): (None, None, 2),
    }
    # Majority: alice (v1, margin 5) and bob (v2, margin 9) agree on c1 > c2; the lower median is 5.
    majority = rows(client, custom["project"], "preferences", "format=trl-preference&consensus=majority")
    assert [(r["chosen"][0]["content"], r["margin"]) for r in majority if "margin" in r] == [("for i in …", 5)]
    assert len(majority) == 4


@pytest.mark.django_db
def test_custom_schema_kto_rule_of_each_version(custom, api, staff):
    client, c, labels = api(staff), custom["c"], custom["labels"]
    verdicts = by_label_and_candidate(rows(client, custom["project"], "kto", "metadata=true"))
    l1, l2, l3, l4 = (labels[k].pk for k in ("l1", "l2", "l3", "l4"))
    assert verdicts == {
        (l1, c["c1"].pk): True,  # v1: quality 5 ≥ 4
        (l1, c["c2"].pk): False,  # v1: refuses (its flag "rude" is no KTO rule of v1)
        (l2, c["c1"].pk): True,  # v2: 9 ≥ 8
        # (l2, c2): v2, quality 5: neither, not exported
        (l3, c["c1"].pk): False,  # v2: 2 ≤ 3
        (l3, c["c2"].pk): False,  # v2: flagged, though 8 ≥ 8
        (l4, c["c3"].pk): True,
        (l4, c["c5"].pk): False,  # 0 on a 0-10 scale
    }
    majority = rows(client, custom["project"], "kto", "consensus=majority")
    # item 1: c1 desirable for 2 of 3 labelers (alice, bob), c2 undesirable for 2 of 3; item 2 has one labeler.
    assert sorted((r["completion"][0]["content"], r["label"]) for r in majority) == [
        ("for i in …", True),
        ("print(1)", False),
        ("x²", False),
        ("x³/3 + C", True),
    ]


@pytest.mark.django_db
def test_custom_schema_rankings_carry_answers_in_each_versions_order(custom, api, staff):
    client, c = api(staff), custom["c"]
    row = rows(client, custom["project"], "rankings", "track=code")[0]
    by_label = {label["label_id"]: label for label in row["labels"]}
    l1, l2 = by_label[custom["labels"]["l1"].pk], by_label[custom["labels"]["l2"].pk]
    j1 = {j["candidate_id"]: j for j in l1["judgments"]}
    j2 = {j["candidate_id"]: j for j in l2["judgments"]}
    assert list(j1[c["c1"].pk]["answers"]) == ["quality", "refuses", "tone", "note"]
    assert j1[c["c1"].pk]["answers"] == {"quality": 5, "refuses": False, "tone": "formal", "note": "fine"}
    assert list(j1[c["c2"].pk]["answers"].items()) == [("quality", 3), ("refuses", True), ("flags", ["rude"])]
    assert list(j2[c["c2"].pk]["answers"]) == ["note", "quality"]
    assert "ratings" not in j1[c["c1"].pk] and "flags" not in j1[c["c1"].pk]
    assert (l1["strength"], l1["margin"], l1["guideline_version"]) == ("clearly", 5, 1)
    assert (l2["strength"], l2["margin"], l2["guideline_version"]) == ("decisively", 9, 2)


@pytest.mark.django_db
def test_custom_schema_manifest_lists_the_schemas_of_the_rows(custom, staff):
    v1, v2 = custom["versions"]
    manifest = snapshot(custom["project"], staff, "rankings")
    assert manifest["schemas"] == [
        {"guideline_version": 1, "digest": schema_of(v1.schema).digest(), "schema": schema_of(v1.schema).as_dict()},
        {"guideline_version": 2, "digest": schema_of(v2.schema).digest(), "schema": schema_of(v2.schema).as_dict()},
    ]
    assert manifest["schemas"][0]["digest"] != manifest["schemas"][1]["digest"]
    only_v2 = snapshot(custom["project"], staff, "kto", {"guideline_version": ["2"]})
    assert [s["guideline_version"] for s in only_v2["schemas"]] == [2]
    assert only_v2["counts"]["guideline_versions"] == [2]


@pytest.mark.django_db
def test_track_filter_takes_the_tracks_of_every_version(custom, api, staff, client):
    api_client, project = api(staff), custom["project"]
    math = rows(api_client, project, "preferences", "track=math&metadata=true")
    assert {r["metadata"]["track"] for r in math} == {"math"} and len(math) == 3
    response, _ = fetch(api_client, project, "preferences", "track=helpful")
    assert response.status_code == 400
    assert response.json()["extra"]["allowed"] == ["code", "chat", "math"]
    assert "helpful" in response.json()["extra"]["fields"]["track"][0]
    client.force_login(staff)
    page = client.get(reverse("projects:exports:list", args=[project.pk])).content.decode()
    for name, label in (("code", "Code"), ("chat", "Chat"), ("math", "Math")):
        assert f'value="{name}"' in page and f"{label} ({name})" in page
    assert 'value="red-team"' not in page
    posted = client.post(reverse("projects:exports:create", args=[project.pk]), {"kind": "kto", "track": ["math"]})
    assert posted.status_code == 302


CUSTOM_GOLDEN = [
    ("preferences", "format=trl-preference&metadata=true"),
    ("kto", "format=trl-kto&metadata=true"),
    ("rankings", "format=labelhub&metadata=true"),
]


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_custom_schema_golden_files(custom, api, staff):
    """The shapes a custom schema gives (answers by question name, its margins, its KTO rule), pinned
    like every other export shape (regenerate with LABELHUB_UPDATE_GOLDEN=1, see test_golden.py)."""
    client = api(staff)
    mismatched = []
    for kind, query in CUSTOM_GOLDEN:
        _, body = fetch(client, custom["project"], kind, query)
        masked = TIMESTAMP.sub(r'"\1":"<timestamp>"', body.decode())
        path = GOLDEN / f"custom-schema__{_name(kind, query)}"
        if os.environ.get("LABELHUB_UPDATE_GOLDEN") == "1":
            path.write_text(masked, encoding="utf-8")
        elif path.read_text(encoding="utf-8") != masked:
            mismatched.append(path.name)
    assert not mismatched, f"differs from golden: {mismatched}"


def test_track_names_are_checked_against_the_schemas_tracks():
    assert export_params_parse("kto", {"track": ["math,code"]}, tracks=["code", "math"]).tracks == ("math", "code")
    with pytest.raises(ApplicationError) as unknown:
        export_params_parse("kto", {"track": ["helpful"]}, tracks=["code", "math"])
    assert unknown.value.extra["allowed"] == ["code", "math"] and "track" in unknown.value.extra["fields"]
    # Without the project's tracks (a pure parse), a track is any well-formed track name.
    assert export_params_parse("kto", {"track": ["red-team"]}).tracks == ("red-team",)
    with pytest.raises(ApplicationError):
        export_params_parse("kto", {"track": ["<script>"]})


# --- HelpSteer: no ranking ----------------------------------------------------------------------------

HELPSTEER_GOOD = {"verbosity": 2, "complexity": 1, "coherence": 4, "correctness": 3, "helpfulness": 4}
HELPSTEER_BAD = {"helpfulness": 1, "correctness": 2, "coherence": 3, "complexity": 0, "verbosity": 4}


@pytest.fixture
def helpsteer(staff, make_project):
    project = make_project("HelpSteer", preset="helpsteer", candidates_per_prompt=2)
    version = publish_schema(project, staff, None, "v1")
    (alice,) = add_labelers(project, "alice")
    p1, (c1, c2) = b.prompt(project, "Explain DNS.", track="general", candidates=["A phone book…", "It's a thing."])
    b.label(
        b.comparison(project, p1, [c1, c2]),
        alice,
        version,
        ratings={str(c1.pk): dict(HELPSTEER_GOOD), str(c2.pk): dict(HELPSTEER_BAD)},
    )
    p2, (c3,) = b.prompt(project, "Say hi.", track="general", candidates=["hi"])
    b.label(b.demonstration_item(project, p2), alice, version, content="Hello!", source_candidate=c3)
    return {"project": project, "c": (c1, c2, c3)}


@pytest.mark.django_db
def test_helpsteer_exports_ratings_and_demonstrations(helpsteer, api, staff):
    client, project = api(staff), helpsteer["project"]
    c1, c2, _ = helpsteer["c"]
    for fmt in FORMATS["sft"]:
        assert len(rows(client, project, "sft", f"format={fmt}")) == 1
    verdicts = {(r["completion"][0]["content"], r["label"]) for r in rows(client, project, "kto")}
    assert verdicts == {("A phone book…", True), ("It's a thing.", False)}
    (row,) = rows(client, project, "rankings")
    judgments = {j["candidate_id"]: j for j in row["labels"][0]["judgments"]}
    expected_order = [q.name for q in PRESETS["helpsteer"].questions]
    assert list(judgments[c1.pk]["answers"]) == expected_order
    assert judgments[c1.pk]["answers"] == HELPSTEER_GOOD and judgments[c2.pk]["answers"] == HELPSTEER_BAD
    assert judgments[c1.pk]["rank"] is None and row["labels"][0]["margin"] is None


@pytest.mark.django_db
def test_helpsteer_preferences_say_there_are_no_pairs(helpsteer, api, staff):
    client, project = api(staff), helpsteer["project"]
    for fmt in FORMATS["preferences"]:
        response, _ = fetch(client, project, "preferences", f"format={fmt}")
        assert response.status_code == 400, (fmt, response.content)
        data = response.json()
        assert "no ranking" in data["message"] and "no ranking" in data["extra"]["fields"]["kind"][0]
    response = client.post(f"/api/v1/projects/{project.pk}/snapshots", {"kind": "preferences"}, format="json")
    assert response.status_code == 400 and "no ranking" in response.json()["message"]
    # Edits are pairs without a ranking: the edited ideal beats the candidate it fixed.
    edits = rows(client, project, "preferences", "include_edits=true")
    assert [(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in edits] == [("Hello!", "hi")]


# --- UltraFeedback, then a version with the ranking off ----------------------------------------------

UF_GOOD = {"helpfulness": 5, "truthfulness": 4, "honesty": 4, "instruction_following": 5}
UF_MEH = {"instruction_following": 3, "honesty": 4, "truthfulness": 4, "helpfulness": 4}


@pytest.fixture
def ultrafeedback(staff, make_project):
    project = make_project("UltraFeedback", preset="ultrafeedback", candidates_per_prompt=3)
    v1 = publish_schema(project, staff, None, "v1")
    v2 = publish_schema(project, staff, PRESETS["helpsteer"].as_dict(), "v2: ratings only")
    alice, bob = add_labelers(project, "alice", "bob")
    p1, (c1, c2, c3) = b.prompt(project, "Name a prime.", track="general", candidates=["7", "9", "1"])
    item = b.comparison(project, p1, [c1, c2, c3])
    bad = dict.fromkeys(UF_GOOD, 1)
    b.label(
        item,
        alice,
        v1,
        ranks={c1: 1, c2: 2, c3: 2},
        ratings={str(c1.pk): dict(UF_GOOD), str(c2.pk): dict(UF_MEH), str(c3.pk): bad},
    )
    b.label(item, bob, v2, ratings={str(c.pk): dict(HELPSTEER_GOOD) for c in (c1, c2, c3)})
    p2, _ = b.prompt(project, "Name a colour.", track="general")
    b.label(b.demonstration_item(project, p2), alice, v1, content="Blue.")
    return {"project": project, "c": (c1, c2, c3)}


@pytest.mark.django_db
def test_ultrafeedback_pairs_kto_and_rankings(ultrafeedback, api, staff):
    client, project = api(staff), ultrafeedback["project"]
    c1 = ultrafeedback["c"][0]
    for fmt in FORMATS["sft"]:
        (row,) = rows(client, project, "sft", f"format={fmt}")
        assert json.dumps(row).count("Blue.") == 1
    for fmt in FORMATS["preferences"]:
        got = rows(client, project, "preferences", f"format={fmt}")
        assert len(got) == 2, fmt  # 7 > 9 and 7 > 1 (tied 9 and 1 form none); no strength, no margin
        assert all("margin" not in r for r in got)
    kto = {(r["completion"][0]["content"], r["label"]) for r in rows(client, project, "kto")}
    # alice (v1, UltraFeedback rule): 7 desirable, 9 neither, 1 undesirable; bob (v2, HelpSteer rule): all good.
    assert kto == {("7", True), ("1", False), ("9", True), ("1", True)}
    (row,) = rows(client, project, "rankings")
    alice, bob = row["labels"]
    first = {j["candidate_id"]: j for j in alice["judgments"]}[c1.pk]
    assert list(first["answers"]) == [q.name for q in PRESETS["ultrafeedback"].questions]
    assert [j["rank"] for j in bob["judgments"]] == [None, None, None]
    assert list(bob["judgments"][0]["answers"]) == [q.name for q in PRESETS["helpsteer"].questions]


@pytest.mark.django_db
def test_mixed_ranking_counts_labels_without_ranking(ultrafeedback, api, staff):
    client, project = api(staff), ultrafeedback["project"]
    manifest = snapshot(project, staff, "preferences")
    assert manifest["counts"]["rows"] == 2
    assert manifest["counts"]["left_out"] == {"labels_without_ranking": 1}
    # The item's labels are counted together (a majority is their vote): both versions are listed.
    assert [s["guideline_version"] for s in manifest["schemas"]] == manifest["counts"]["guideline_versions"] == [1, 2]
    assert [s["schema"]["ranking"]["enabled"] for s in manifest["schemas"]] == [True, False]
    response, _ = fetch(client, project, "preferences", "guideline_version=2")
    assert response.status_code == 400 and "no ranking" in response.json()["message"]
    assert len(rows(client, project, "preferences", "guideline_version=1")) == 2


# --- hostile answers ------------------------------------------------------------------------------------

HOSTILE = 'x"}\n{"evil":1}\r\n\u2028\u2029\u0085</script>,"a",b\n'


@pytest.mark.django_db
def test_hostile_answers_cannot_break_a_line(custom, api, staff):
    """Question names are identifiers (the schema refuses anything else); an answer key that is not a
    question of the label's schema (a tampered row) is never written; text answers are JSON-escaped,
    line separators included."""
    with pytest.raises(SchemaInvalid) as refused:
        Schema.parse({**CUSTOM_V1, "questions": [{"name": HOSTILE, "type": "binary", "label": "x"}], "kto": {}})
    assert "questions[0].name" in refused.value.fields
    label, c = custom["labels"]["l1"], custom["c"]
    label.ratings[str(c["c1"].pk)] |= {"note": HOSTILE, HOSTILE: HOSTILE}
    label.save(update_fields=["ratings"])
    client = api(staff)
    for kind, formats in FORMATS.items():
        for fmt in formats:
            _, body = fetch(client, custom["project"], kind, f"format={fmt}&metadata=true")
            assert b"\xe2\x80\xa8" not in body and b"\xc2\x85" not in body and b"\r" not in body
            for line in body.splitlines():
                assert isinstance(json.loads(line), dict)
    (row,) = rows(client, custom["project"], "rankings", "track=code&metadata=true")
    answers = {j["candidate_id"]: j["answers"] for j in row["labels"][0]["judgments"]}[c["c1"].pk]
    assert answers["note"] == HOSTILE and HOSTILE not in answers
