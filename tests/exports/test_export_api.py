import json
from datetime import timedelta

import pytest
from django.utils import timezone

from labelhub.exports.selectors import split_bucket
from labelhub.labeling.models import Label
from labelhub.projects import services as project_services
from labelhub.projects.models import Role

from ..factories import UserFactory
from . import builders as b
from .conftest import UNICODE

KINDS = ("sft", "preferences", "kto", "rankings")


def rows(client, project, kind, query="", **headers):
    response = client.get(f"/api/v1/projects/{project.pk}/exports/{kind}.jsonl?{query}", **headers)
    assert response.status_code == 200, response.content
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


def error(client, project, kind, query):
    response = client.get(f"/api/v1/projects/{project.pk}/exports/{kind}.jsonl?{query}")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


# --- access ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("who", "expected"),
    [("admin", 200), ("engineer", 200), ("labeler", 404), ("reviewer", 404), ("outsider", 404), (None, 401)],
)
def test_role_matrix(project, members, api, kind, who, expected):
    user = members[who] if who else None
    response = api(user).get(f"/api/v1/projects/{project.pk}/exports/{kind}.jsonl")
    assert response.status_code in ((401, 403) if expected == 401 else (expected,))
    if expected != 200:
        assert "message" in response.json()


@pytest.mark.django_db
def test_other_projects_are_not_found(golden, api, make_project):
    other = make_project("Other")
    outsider_engineer = UserFactory(username="engineer-elsewhere")
    project_services.membership_add(project=other, username=outsider_engineer.username, role=Role.ENGINEER)
    client = api(outsider_engineer)
    for kind in KINDS:
        assert client.get(f"/api/v1/projects/{golden.project.pk}/exports/{kind}.jsonl").status_code == 404
        assert rows(client, other, kind) == []
    assert client.get("/api/v1/projects/999999/exports/sft.jsonl").status_code == 404


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unknown_keys_and_values_are_400_with_the_allowed_list(golden, api):
    client = api(golden.users["eve"])
    body = error(client, golden.project, "sft", "format=trl-messages&order_by=-id")
    assert "order_by" in body["message"] and "guideline_version" in body["extra"]["allowed"]
    assert "pairs" not in body["extra"]["allowed"]  # only on preferences and rankings
    body = error(client, golden.project, "preferences", "format=alpaca")
    assert body["extra"]["allowed"] == ["trl-preference", "trl-preference-implicit", "openai-dpo", "hh-rlhf"]
    cases = {
        "preferences": [
            "pairs=some",
            "consensus=unanimous",
            "metadata=maybe",
            "guideline_version=abc",
            "guideline_version=99",
            "guideline_version=>=1,2",
            "since=yesterday",
            "since=2026-01-02&until=2026-01-01",
            "track=comedy",
            "labeler=nobody",
            "exclude_labeler=424242",
            "split=validation",
            "split=test&test_ratio=1.5",
            "test_ratio=0.2",
            "review=all",
            "format=trl-preference&format=hh-rlhf",
        ],
        "sft": ["consensus=majority", "include_edits=true"],
        "rankings": ["include_edits=true", "format=trl-preference"],
    }
    for kind, queries in cases.items():
        for query in queries:
            body = error(client, golden.project, kind, query)
            assert body["message"], query


@pytest.mark.django_db
def test_accept_jsonl_is_honoured(golden, api):
    client = api(golden.users["eve"])
    assert len(rows(client, golden.project, "sft", HTTP_ACCEPT="application/jsonl")) == 4
    response = client.get(
        f"/api/v1/projects/{golden.project.pk}/exports/sft.jsonl?pairs=1", HTTP_ACCEPT="application/jsonl"
    )
    assert response.status_code == 400 and response.json()["message"]


@pytest.mark.django_db
def test_response_headers(golden, api):
    response = api(golden.users["eve"]).get(f"/api/v1/projects/{golden.project.pk}/exports/preferences.jsonl")
    assert response.streaming
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


# --- content ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unicode_round_trips_exactly(golden, api):
    client = api(golden.users["eve"])
    sft = rows(client, golden.project, "sft")
    greet = next(r for r in sft if r["messages"][0]["content"].startswith("Greet me."))
    assert greet["messages"][0]["content"] == f"Greet me. {UNICODE}"
    assert greet["messages"][1]["content"] == f"Hello! {UNICODE}"
    prefs = rows(client, golden.project, "preferences", "track=red-team")
    assert prefs[0]["prompt"][0]["content"] == UNICODE
    assert prefs[0]["chosen"][0]["content"] == f"I can't help with that. {UNICODE}"
    hh = rows(client, golden.project, "preferences", "track=red-team&format=hh-rlhf")
    assert hh[0]["chosen"] == f"\n\nHuman: {UNICODE}\n\nAssistant: I can't help with that. {UNICODE}"


@pytest.mark.django_db
def test_pairs_ties_all_bad_and_margin(golden, api):
    client = api(golden.users["eve"])
    c = {k: v.content for k, v in golden.candidates.items()}
    alice = golden.users["alice"].pk
    pairs = rows(client, golden.project, "preferences", f"labeler={alice}&metadata=true")
    got = [(r["chosen"][0]["content"], r["rejected"][0]["content"], r.get("margin")) for r in pairs]
    # alice: K=4 with c1 = c3 (tie never paired), K=2 "better" (margin 2), "all bad" gives nothing.
    assert got == [
        (c["c1"], c["c2"], None),
        (c["c3"], c["c2"], None),
        (c["c1"], c["c4"], None),
        (c["c3"], c["c4"], None),
        (c["c2"], c["c4"], None),
        (c["c5"], c["c6"], 2),
    ]
    assert {r["metadata"]["labeler_id"] for r in pairs} == {alice}
    best = rows(client, golden.project, "preferences", "labeler=alice&pairs=best-vs-rest")
    assert len(best) == 5  # {c1, c3} beat {c2, c4}; plus the K=2 pair
    adjacent = rows(client, golden.project, "preferences", "labeler=alice&pairs=adjacent")
    assert len(adjacent) == 4  # {c1, c3} > c2, c2 > c4; plus the K=2 pair


@pytest.mark.django_db
def test_consensus_majority_keeps_only_agreed_pairs(golden, api):
    client = api(golden.users["eve"])
    pairs = rows(client, golden.project, "preferences", "consensus=majority&metadata=true")
    c = golden.candidates
    ids = {(r["metadata"]["chosen"]["candidate_id"], r["metadata"]["rejected"]["candidate_id"]) for r in pairs}
    # c1 vs c3 splits the three labelers (tie / c3 / c1): no majority either way.
    assert (c["c1"].pk, c["c3"].pk) not in ids and (c["c3"].pk, c["c1"].pk) not in ids
    assert (c["c1"].pk, c["c2"].pk) in ids
    square = next(r for r in pairs if r["metadata"]["chosen"]["candidate_id"] == c["c5"].pk)
    assert square["margin"] == 2 and square["metadata"]["votes"] == 2 and square["metadata"]["labelers"] == 3
    # Leave bob out: c5 > c6 now has 1 vote of 2 labelers (alice; carol tied) and is dropped.
    pairs = rows(client, golden.project, "preferences", "consensus=majority&metadata=true&exclude_labeler=bob")
    assert all(r["metadata"]["chosen"]["candidate_id"] != c["c5"].pk for r in pairs)


@pytest.mark.django_db
def test_filters(golden, api):
    client = api(golden.users["eve"])
    project = golden.project
    everything = rows(client, project, "preferences", "metadata=true")
    assert {
        r["metadata"]["guideline_version"]
        for r in rows(client, project, "preferences", "guideline_version=1&metadata=true")
    } == {1}
    assert len(rows(client, project, "preferences", "guideline_version=>=2")) == len(everything) - 5
    assert len(rows(client, project, "preferences", "guideline_version=1,2")) == len(everything)
    assert {
        r["metadata"]["track"] for r in rows(client, project, "preferences", "track=red-team,harmless&metadata=true")
    } == {"red-team"}
    bob = golden.users["bob"]
    assert {r["metadata"]["labeler_id"] for r in rows(client, project, "preferences", "labeler=bob&metadata=true")} == {
        bob.pk
    }
    without_bob = rows(client, project, "preferences", f"exclude_labeler={bob.pk}&metadata=true")
    assert bob.pk not in {r["metadata"]["labeler_id"] for r in without_bob} and without_bob
    # since / until on the label's creation time.
    old = timezone.now() - timedelta(days=10)
    Label.objects.filter(pk=golden.labels["p2_alice"].pk).update(created_at=old)
    day = (old + timedelta(days=1)).date().isoformat()
    before = rows(client, project, "preferences", f"until={day}&metadata=true")
    assert [r["metadata"]["label_id"] for r in before] == [golden.labels["p2_alice"].pk]
    assert len(rows(client, project, "preferences", f"since={day}")) == len(everything) - 1
    # Rejected labels never leave unless asked for.
    sft = rows(client, project, "sft", "metadata=true")
    assert golden.labels["p6_carol"].pk not in {r["metadata"]["label_id"] for r in sft}
    assert len(rows(client, project, "sft", "review=any")) == len(sft) + 1
    assert rows(client, project, "sft", "review=accepted") == []


@pytest.mark.django_db
def test_split_is_deterministic_by_prompt_and_disjoint(project, members, api, staff):
    """200 prompts, each labeled by two labelers: every prompt lands wholly in train or in test."""
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="x")
    labelers = [members["labeler"], members["reviewer"]]
    for i in range(200):
        p, (a, bb) = b.prompt(project, f"question {i}", candidates=[f"good {i}", f"bad {i}"])
        item = b.comparison(project, p, [a, bb])
        for user in labelers:
            b.label(item, user, version, ranks={a: 1, bb: 2}, strength="better")
    client = api(members["engineer"])

    def prompts(query):
        return [r["metadata"]["prompt_id"] for r in rows(client, project, "preferences", query + "&metadata=true")]

    train, test = prompts("split=train&test_ratio=0.25"), prompts("split=test&test_ratio=0.25")
    assert len(train) + len(test) == 400
    assert not set(train) & set(test)
    assert 25 <= len(set(test)) <= 75  # about a quarter of 200
    assert prompts("split=test&test_ratio=0.25") == test  # deterministic
    assert set(prompts("split=test&test_ratio=0.5")) >= set(test)  # a larger ratio only adds prompts
    assert split_bucket("a" * 64) == split_bucket("a" * 64)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_rows(project, members, api, staff, django_assert_max_num_queries):
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="x")

    def add(n, start):
        for i in range(start, start + n):
            p, cands = b.prompt(project, f"q{i}", candidates=[f"a{i}", f"b{i}", f"c{i}"])
            b.label(
                b.comparison(project, p, cands),
                members["labeler"],
                version,
                ranks={cands[0]: 1, cands[1]: 2, cands[2]: 3},
            )

    client = api(members["engineer"])
    add(5, 0)
    with django_assert_max_num_queries(12):
        assert len(rows(client, project, "preferences", "metadata=true")) == 15
    add(60, 5)
    with django_assert_max_num_queries(12):
        assert len(rows(client, project, "preferences", "metadata=true")) == 195
