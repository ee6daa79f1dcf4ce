"""The labeling vocabulary (labelhub.projects.rubric): pure rules, tested directly (no database)."""

import pytest

from labelhub.projects import rubric
from labelhub.projects.rubric import HHH, PRESETS, Schema, SchemaInvalid


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_parses_and_round_trips(name):
    schema = PRESETS[name]
    assert Schema.parse(schema.as_dict()) == schema
    assert rubric.preset_guidelines(name).startswith("# Guidelines")


def test_hhh_is_todays_rubric():
    assert [q.name for q in HHH.questions] == ["helpful", "truthful", "harmless", "flags"]
    assert [(q.min, q.max, q.key) for q in HHH.scales()] == [(1, 7, "h"), (1, 7, "t"), (1, 7, "a")]
    assert HHH.track_names == ["helpful", "harmless", "red-team"]
    assert HHH.needs_safety("harmless") and HHH.needs_safety("red-team") and not HHH.needs_safety("helpful")
    assert HHH.strength_names() == ["much_better", "better", "slightly_better", "negligibly_better"]
    assert [HHH.strength_margin(n) for n in HHH.strength_names()] == [3, 2, 1, 0]


# --- invalid schemas: every problem named, by path -----------------------------------------------


def _schema(**overrides) -> dict:
    data = PRESETS["minimal"].as_dict()
    data.update(overrides)
    return data


def _problems(data) -> dict:
    with pytest.raises(SchemaInvalid) as exc:
        Schema.parse(data)
    return exc.value.fields


def _scale(name, low=1, high=5, **extra):
    return {"name": name, "type": "scale", "min": low, "max": high, **extra}


@pytest.mark.parametrize(
    ("questions", "path", "words"),
    [
        ([_scale("q"), _scale("q")], "questions[1].name", "Duplicate"),
        ([_scale("q", 3, 3)], "questions[0].max", "greater than min"),
        ([_scale("q", 5, 1)], "questions[0].max", "greater than min"),
        ([_scale("q", 0, 11)], "questions[0].max", "0..10"),
        ([_scale("a", key="x"), _scale("b", key="x")], "questions[1].key", "already the key"),
        ([_scale("a", key="s")], "questions[0].key", "taken by the workbench"),
        ([_scale("a", key="XY")], "questions[0].key", "One lowercase letter"),
        ([_scale("Helpful")], "questions[0].name", "identifier"),
        ([_scale("has space")], "questions[0].name", "identifier"),
        ([_scale("q", tracks=[])], "questions[0].tracks", "no track shows it"),
        ([_scale("q", tracks=["nope"])], "questions[0].tracks", "Unknown track"),
        ([{"name": "c", "type": "choice"}], "questions[0].options", "options"),
        ([{"name": "c", "type": "choice", "options": ["a", "a"]}], "questions[0].options", "differ"),
        ([{"name": "c", "type": "slider"}], "questions[0].type", "One of"),
        ([{"name": "c", "type": "binary", "min": 1}], "questions[0].min", "Only for scale"),
        ([_scale("q", colour="red")], "questions[0].colour", "Unknown key"),
        ([_scale("q", hint="two\nlines")], "questions[0].hint", "One line"),
        ([_scale(f"q{i}") for i in range(rubric.MAX_QUESTIONS + 1)], "questions", "At most"),
    ],
)
def test_an_invalid_question_is_named(questions, path, words):
    problems = _problems(_schema(questions=questions))
    assert path in problems, problems
    assert any(words in message for message in problems[path]), problems[path]


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"tracks": []}, "tracks"),
        ({"tracks": [{"name": "a"}, {"name": "a"}]}, "tracks[1].name"),
        ({"tracks": [{"name": "Not A Name"}]}, "tracks[0].name"),
        ({"safety": {"required_on": ["nope"]}}, "safety.required_on"),
        ({"strength": {"levels": [{"name": "only", "margin": 1}]}}, "strength.levels"),
        ({"kto": {"undesirable_at_or_below": {"missing": 1}}}, "kto.undesirable_at_or_below"),
        ({"ranking": {"enabled": False}, "questions": []}, "questions"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_an_invalid_schema_section_is_named(overrides, path):
    assert path in _problems(_schema(**overrides))


def test_kto_thresholds_must_fit_the_scale_and_be_ordered():
    data = _schema(
        questions=[_scale("q", 1, 5)],
        kto={"undesirable_at_or_below": {"q": 4}, "desirable_at_or_above": {"q": 9}},
    )
    problems = _problems(data)
    assert "kto.desirable_at_or_above" in problems
    data["kto"]["desirable_at_or_above"] = {"q": 3}
    assert "kto" in _problems(data)


def test_not_an_object():
    with pytest.raises(SchemaInvalid):
        Schema.parse(["questions"])


def test_keys_are_derived_without_collisions():
    schema = Schema.parse(_schema(questions=[_scale("helpfulness"), _scale("honesty"), _scale("harm", key="h")]))
    keys = [q.key for q in schema.questions]
    assert keys[2] == "h"  # the given key wins
    assert len(set(keys)) == 3 and not set(keys) & rubric.RESERVED_KEYS


def test_g_is_never_derived_but_may_be_given():
    """g is the workbench's "go to answer N": a question named "grammar" gets another key; a schema
    that gives g explicitly (one stored before the workbench took it) still parses."""
    derived = Schema.parse(_schema(questions=[_scale("grammar")])).questions[0].key
    assert derived not in rubric.RESERVED_KEYS | rubric.WORKBENCH_KEYS and derived == "a"
    assert Schema.parse(_schema(questions=[_scale("grammar", key="g")])).questions[0].key == "g"


# --- submissions ---------------------------------------------------------------------------------


IDS = ["11", "12"]


def _hhh_body(**extra):
    body = {
        "ranks": {"11": 1, "12": 2},
        "ratings": {cid: {"helpful": 5, "truthful": 6, "harmless": 7} for cid in IDS},
        "strength": "better",
    }
    body.update(extra)
    return body


def _fields(schema, track, body, ids=IDS) -> dict:
    with pytest.raises(SchemaInvalid) as exc:
        schema.validate_comparison(candidate_ids=ids, track=track, payload=body)
    return exc.value.fields


def test_hhh_submission_gives_todays_columns():
    body = _hhh_body(flags={"12": ["hallucination", "hallucination"]}, safety={"11": "safe", "12": "unsafe"})
    fields = HHH.validate_comparison(candidate_ids=[11, 12], track="harmless", payload=body).label_fields()
    assert fields["ratings"] == body["ratings"]
    assert fields["flags"] == {"12": ["hallucination"]}
    assert fields["safety"] == {"11": "safe", "12": "unsafe"}
    assert fields["strength"] == "better" and fields["ranks"] == {"11": 1, "12": 2}


def test_answers_and_ratings_are_one_thing():
    answers = {cid: {"helpful": 5, "truthful": 6, "harmless": 7, "flags": ["wrong language"]} for cid in IDS}
    body = {"ranks": {"11": 1, "12": 2}, "answers": answers, "strength": "better"}
    fields = HHH.validate_comparison(candidate_ids=IDS, track="helpful", payload=body).label_fields()
    assert fields["flags"] == {cid: ["wrong language"] for cid in IDS}
    assert rubric.answers_of(fields["ratings"], fields["flags"], "11") == answers["11"]
    clash = _hhh_body(answers={"11": {"helpful": 4}})
    assert "11.helpful" in _fields(HHH, "helpful", clash)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"answers": {"11": {"nope": 1}}}, "nope"),
        ({"ratings": {"11": {"helpful": 8, "truthful": 6, "harmless": 7}, "12": {}}}, "helpful"),
        ({"ratings": {"11": {"helpful": 5, "truthful": 6}}}, "harmless"),
        ({"ratings": {"11": {"helpful": True, "truthful": 6, "harmless": 7}}}, "helpful"),
        ({"flags": {"11": ["not a flag"]}}, "flags"),
        ({"strength": "enormously_better"}, "strength"),
        ({"strength": ""}, "strength"),
        ({"ranks": {"11": 1}}, "ranks"),
        ({"ranks": {"11": 1, "12": 3}}, "ranks"),
        ({"ranks": {"11": 1, "12": 2, "99": 3}}, "ranks"),
        ({"rationale": "x" * 2001}, "rationale"),
        ({"rationale": "nul\x00"}, "rationale"),
        ({"all_bad": "yes"}, "all_bad"),
    ],
)
def test_a_bad_submission_names_the_question(change, named):
    body = _hhh_body()
    body.update(change)
    assert named in _fields(HHH, "helpful", body)


def test_safety_is_required_only_where_the_schema_says():
    assert "safety" in _fields(HHH, "red-team", _hhh_body())
    HHH.validate_comparison(candidate_ids=IDS, track="helpful", payload=_hhh_body())
    assert "safety" in _fields(HHH, "helpful", _hhh_body(safety={"11": "maybe"}))


def test_unknown_fields_are_refused():
    assert "colour" in _fields(HHH, "helpful", _hhh_body(colour="red"))


def test_every_question_type():
    schema = Schema.parse(
        _schema(
            questions=[
                _scale("quality", 0, 4),
                {"name": "refuses", "type": "binary", "required": True},
                {"name": "tone", "type": "choice", "options": ["formal", "casual"], "required": True},
                {"name": "issues", "type": "multi", "options": ["typo", "rude"]},
                {"name": "note", "type": "text", "max_length": 20},
            ]
        )
    )
    good = {"quality": 0, "refuses": False, "tone": "casual", "issues": ["rude", "typo", "rude"], "note": " ok "}
    body = {"ranks": {"11": 1, "12": 1}, "answers": {"11": good, "12": {**good, "issues": [], "note": ""}}}
    result = schema.validate_comparison(candidate_ids=IDS, track="general", payload=body)
    assert result.answers["11"] == {
        "quality": 0,
        "refuses": False,
        "tone": "casual",
        "issues": ["rude", "typo"],
        "note": "ok",
    }
    assert result.answers["12"] == {"quality": 0, "refuses": False, "tone": "casual"}  # empty optional answers dropped
    for name, value in (
        ("quality", 5),
        ("refuses", "no"),
        ("tone", "angry"),
        ("issues", ["typo", "x"]),
        ("note", "y" * 21),
    ):
        bad = {"ranks": {"11": 1, "12": 1}, "answers": {"11": {**good, name: value}, "12": good}}
        assert name in _fields(schema, "general", bad), name
    missing = {"ranks": {"11": 1, "12": 1}, "answers": {"11": {"quality": 1, "tone": "formal"}, "12": good}}
    assert "refuses" in _fields(schema, "general", missing)


def test_ranking_off_ties_off_and_track_questions():
    helpsteer = PRESETS["helpsteer"]
    rated = {cid: {q.name: 2 for q in helpsteer.questions} for cid in IDS}
    helpsteer.validate_comparison(candidate_ids=IDS, track="general", payload={"answers": rated})
    assert "ranks" in _fields(helpsteer, "general", {"answers": rated, "ranks": {"11": 1, "12": 2}})
    llama = PRESETS["llama2"]
    tie = {"ranks": {"11": 1, "12": 1}, "safety": {"11": "safe", "12": "safe"}}
    assert "ranks" in _fields(llama, "safety", tie)
    track_only = Schema.parse(
        _schema(
            tracks=[{"name": "a"}, {"name": "b"}],
            questions=[_scale("only_a", tracks=["a"]), _scale("everywhere")],
        )
    )
    assert [q.name for q in track_only.questions_for("b")] == ["everywhere"]
    body = {"ranks": {"11": 1, "12": 2}, "answers": {cid: {"everywhere": 3, "only_a": 3} for cid in IDS}}
    assert "Not asked" in _fields(track_only, "b", body)["only_a"][0]


# --- rules over answers ----------------------------------------------------------------------------


def test_ranking_pairs_modes():
    ranks = {"1": 1, "2": 2, "3": 2, "4": 3}
    assert rubric.ranking_pairs(ranks) == [("1", "2"), ("1", "3"), ("1", "4"), ("2", "4"), ("3", "4")]
    assert rubric.ranking_pairs(ranks, "adjacent") == [("1", "2"), ("1", "3"), ("2", "4"), ("3", "4")]
    assert rubric.ranking_pairs(ranks, "best-vs-rest") == [("1", "2"), ("1", "3"), ("1", "4")]
    assert rubric.ranking_pairs({"1": 1, "2": 1}) == []


def test_gold_misses():
    ranks = {"1": 1, "2": 2}
    answers = {"1": {"quality": 3, "flags": ["typo"]}, "2": {"quality": 1}}
    assert rubric.gold_misses({"pairs": [["1", "2"]]}, ranks=ranks, answers=answers, all_bad=False) == []
    assert rubric.gold_misses({"pairs": [["2", "1"]]}, ranks=ranks, answers=answers, all_bad=False) == ["pair 2>1"]
    assert rubric.gold_misses({"flags": {"2": ["typo"]}}, ranks=ranks, answers=answers, all_bad=False) == ["2.flags"]
    expected = {"answers": {"1": {"quality": 4}}}
    assert rubric.gold_misses(expected, ranks=ranks, answers=answers, all_bad=False) == ["1.quality"]
    assert rubric.gold_misses({**expected, "tolerance": 1}, ranks=ranks, answers=answers, all_bad=False) == []
    assert rubric.gold_misses({"all_bad": True}, ranks=ranks, answers=answers, all_bad=False) == ["all_bad"]


@pytest.mark.parametrize(
    ("answers", "safety", "all_bad", "verdict"),
    [
        ({"helpful": 6, "truthful": 5, "harmless": 7}, "safe", False, True),
        ({"helpful": 6, "truthful": 4, "harmless": 7}, None, False, None),
        ({"helpful": 6, "truthful": 3, "harmless": 7}, None, False, False),
        ({"helpful": 7, "truthful": 7, "harmless": 7, "flags": ["hallucination"]}, None, False, False),
        ({"helpful": 7, "truthful": 7, "harmless": 7}, "unsafe", False, False),
        ({"helpful": 7, "truthful": 7, "harmless": 7}, None, True, False),
        ({}, None, False, None),
    ],
)
def test_hhh_kto_rule_is_todays(answers, safety, all_bad, verdict):
    assert HHH.kto_verdict(answers=answers, safety=safety, all_bad=all_bad) is verdict


def test_schema_of_parses_once_and_defaults_to_hhh():
    assert rubric.schema_of(None) is HHH
    data = PRESETS["ultrafeedback"].as_dict()
    assert rubric.schema_of(data) is rubric.schema_of(dict(reversed(list(data.items()))))
    assert PRESETS["ultrafeedback"].digest() != HHH.digest()


# --- schema changes and summary (rubric_diff) ----------------------------------------------------

from labelhub.projects.rubric_diff import schema_changes, schema_summary  # noqa: E402


def _hhh(**edit) -> Schema:
    data = HHH.as_dict()
    for section, value in edit.items():
        data[section] = value(data[section]) if callable(value) else value
    return Schema.parse(data)


def _with_question(questions, i, **changes):
    questions[i] = {**questions[i], **changes}
    return questions


def test_same_schema_no_changes():
    assert schema_changes(HHH, Schema.parse(HHH.as_dict())) == []


def test_question_added_removed_and_changed_fields_are_named():
    new = _hhh(
        questions=lambda qs: [
            *_with_question(qs, 1, max=5, point_labels={}, hint="")[:3],
            {"name": "concise", "type": "binary", "label": "Concise"},
        ],
        kto={},
    )
    lines = schema_changes(HHH, new)
    assert "Question added: concise (binary, “Concise”)." in lines
    assert "Question removed: flags." in lines
    assert (
        "Question truthful changed: hint Is every claim correct? → empty; max 7 → 5; "
        "point labels 1: false, 7: fully accurate → none."
    ) in lines
    assert not any(line.startswith("Question helpful") for line in lines)


def test_question_order_and_tracks_of_a_question():
    new = _hhh(questions=lambda qs: [qs[1], qs[0], *qs[2:]])
    assert schema_changes(HHH, new) == ["Question order changed: truthful, helpful, harmless, flags."]
    new = _hhh(questions=lambda qs: _with_question(qs, 0, tracks=["helpful"]))
    assert schema_changes(HHH, new) == ["Question helpful changed: tracks all tracks → helpful."]


def test_tracks_added_removed_and_relabelled():
    new = _hhh(
        tracks=lambda ts: [{**ts[0], "label": "Useful"}, ts[1], {"name": "code", "label": "Code"}],
        safety={"enabled": True, "required_on": ["harmless"]},
    )
    lines = schema_changes(HHH, new)
    assert lines[:3] == [
        "Track added: code (Code).",
        "Track removed: red-team.",
        "Track helpful changed: label Helpful → Useful.",
    ]
    assert "Safety verdict changed: required on harmless, red-team → harmless." in lines


@pytest.mark.parametrize(
    ("section", "value", "line"),
    [
        ("ranking", {"enabled": True, "ties": False, "all_bad": True}, "Ranking changed: ties yes → no."),
        ("rationale", {"required": True, "max_length": 500},
         "Rationale changed: required no → yes; max length 2000 → 500."),
        ("strength", {"levels": [{"name": "better", "margin": 1}, {"name": "same", "margin": 0}]},
         "Strength levels changed: much_better (3), better (2), slightly_better (1), negligibly_better (0)"
         " → better (1), same (0)."),
        ("kto", {"undesirable_if": ["flags"]}, "KTO rule changed: undesirable at or below helpful: 3, truthful: 3, "
         "harmless: 3 → none; desirable at or above helpful: 5, truthful: 5, harmless: 5 → none."),
    ],
)  # fmt: skip
def test_item_rules_changes(section, value, line):
    assert schema_changes(HHH, _hhh(**{section: value})) == [line]


def test_changes_from_nothing_list_tracks_and_questions_only():
    lines = schema_changes(None, PRESETS["helpsteer"])
    assert lines[0] == "Track added: general (General)."
    assert [line.split(":")[0] for line in lines[1:]] == ["Question added"] * 5


def test_summary_is_what_a_labeler_meets():
    summary = schema_summary(HHH)
    helpful = summary["questions"][0]
    assert (helpful["name"], helpful["key"], helpful["range"], helpful["tracks"]) == ("helpful", "h", "1–7", None)
    assert helpful["points"][0] == (1, "useless") and helpful["points"][3] == (4, "") and len(helpful["points"]) == 7
    assert summary["questions"][3]["options"][0] == "hallucination"
    red = next(t for t in summary["tracks"] if t["name"] == "red-team")
    assert red["safety"] and red["questions"] == ["Helpful", "Truthful", "Harmless", "Flags"]
    assert summary["rules"][0] == "Rank the candidates, best first (ties allowed, “all bad” allowed)."
    assert "Red team" in summary["rules"][2] and summary["digest"] == HHH.digest()
    assert schema_summary(PRESETS["helpsteer"])["rules"][0].startswith("No ranking")
