"""The statistics find planted behaviour, recover planted model strengths, and match references."""

import random

import pytest

from labelhub.generation.models import ModelConfig
from labelhub.projects import services as project_services
from labelhub.quality import services
from labelhub.quality.stats import project_stats_compute

from ..exports import builders as b
from .simulation import simulate


@pytest.mark.django_db
def test_planted_labelers_are_flagged_and_honest_ones_spared(staff):
    sim = simulate(staff)
    for item, cands, quality in sim.gold_items:
        best_first = sorted(cands, key=lambda c: -quality[c.pk])
        services.gold_set(
            work_item_id=item.pk, user=staff, data={"ranking": {str(c.pk): r for r, c in enumerate(best_first, 1)}}
        )
    data = project_stats_compute(project=sim.project)
    flags = {row["username"].removeprefix("sim-"): set(row["flags"]) for row in data["labelers"]}
    rows = {row["username"].removeprefix("sim-"): row for row in data["labelers"]}
    expected = {
        "random": {"low_agreement", "low_gold_accuracy"},
        "adversarial": {"low_agreement", "low_gold_accuracy"},
        "position": {"position_bias"},
        "length": {"length_bias"},
        "fast": {"too_fast"},
    }
    for name, wanted in expected.items():
        assert wanted <= flags[name], (name, flags[name], rows[name])
    for name, behaviour in sim.behaviour.items():
        if behaviour == "honest":
            assert flags[name] == set(), (name, rows[name])
            assert rows[name]["gold"]["accuracy"] >= 0.8 and rows[name]["agreement"]["value"] >= 0.7
    agreement = data["agreement"]["pairwise"]
    assert 0 < agreement["low"] <= agreement["value"] <= agreement["high"] < 1 and agreement["enough_data"]
    assert set(data["agreement"]["alpha"]) == {"helpful", "truthful", "harmless", "flags"}  # HHH: scales + flags
    assert data["labels"] == 150 * 5 + 20 * 11
    assert data["progress"][-1]["cumulative"] == data["labels"]


@pytest.mark.django_db
def test_bradley_terry_recovers_planted_model_strengths(staff):
    """Three model configs of known strength; honest labelers rank their answers by sampled quality."""
    rng = random.Random(3)
    project = project_services.project_create(user=staff, name="Arena", candidates_per_prompt=3)
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="x")
    strengths = {"weak": 0.0, "middle": 0.5, "strong": 1.0}
    configs = {
        name: ModelConfig.objects.create(project=project, name=name, base_url="http://m/v1", model=name)
        for name in strengths
    }
    labelers = []
    from ..factories import UserFactory

    for i in range(4):
        labelers.append(UserFactory(username=f"arena-{i}"))
    for i in range(400):
        p, cands = b.prompt(project, f"q{i}", candidates=[f"{name} answer {i}" for name in strengths])
        for cand, name in zip(cands, strengths, strict=True):
            type(cand).objects.filter(pk=cand.pk).update(model_config=configs[name])
        item = b.comparison(project, p, cands, overlap=1)
        # Logistic noise: P(a beats b) = sigmoid(s_a - s_b), the Bradley–Terry model itself.
        sampled = {c.pk: strengths[n] + rng.gauss(0, 1) * 1.8 for c, n in zip(cands, strengths, strict=True)}
        order = sorted(sampled, key=lambda c: -sampled[c])
        b.label(item, labelers[i % 4], version, ranks={cid: r for r, cid in enumerate(order, 1)})
    data = project_stats_compute(project=project)
    board = {row["name"]: row for row in data["leaderboard"]}
    assert [row["name"] for row in data["leaderboard"]] == ["strong", "middle", "weak"]
    assert board["strong"]["low"] > board["weak"]["high"]  # top and bottom intervals do not overlap
    assert board["strong"]["comparisons"] == 800 and 0.5 < board["strong"]["win_rate"] < 1
    for row in data["leaderboard"]:  # a large sample: enough data, and the truth within the intervals
        assert row["enough_data"] and row["win_rate_low"] < row["win_rate"] < row["win_rate_high"]
    assert board["strong"]["high"] - board["strong"]["low"] < 120
    matrix = data["win_matrix"]
    i, j = matrix["players"].index("strong"), matrix["players"].index("weak")
    assert matrix["share"][i][j] > 0.5 and matrix["games"][i][j] == 400


def _arena(staff, name, models):
    project = project_services.project_create(user=staff, name=name, candidates_per_prompt=2)
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="x")
    configs = {m: ModelConfig.objects.create(project=project, name=m, base_url="http://m/v1", model=m) for m in models}
    return project, version, configs


def _compare(project, version, configs, winner, loser, labelers, question):
    """One comparison item of `winner` against `loser`, labeled by each of `labelers` the same way."""
    p, cands = b.prompt(project, question, candidates=[f"{winner}: {question}", f"{loser}: {question}"])
    for cand, name in zip(cands, (winner, loser), strict=True):
        type(cand).objects.filter(pk=cand.pk).update(model_config=configs[name])
    item = b.comparison(project, p, cands, overlap=len(labelers))
    for user in labelers:
        b.label(item, user, version, ranks={cands[0]: 1, cands[1]: 2})


@pytest.mark.django_db
def test_six_comparisons_all_won_are_not_certainty(staff):
    """The leaderboard of a model that won all of its 6 comparisons: an interval with width, a Wilson
    interval on its win rate, and "not enough data"; models with enough comparisons rank first."""
    from ..factories import UserFactory

    project, version, configs = _arena(staff, "Tiny arena", ["lucky", "unlucky", "steady", "other"])
    labeler = UserFactory(username="tiny-arena")
    for i in range(6):
        _compare(project, version, configs, "lucky", "unlucky", [labeler], f"q{i}")
    for i in range(25):
        winner, loser = ("steady", "other") if i % 5 else ("other", "steady")
        _compare(project, version, configs, winner, loser, [labeler], f"r{i}")
    data = project_stats_compute(project=project)
    board = {row["name"]: row for row in data["leaderboard"]}
    lucky = board["lucky"]
    assert lucky["comparisons"] == 6 and lucky["win_rate"] == 1
    assert lucky["low"] < lucky["score"] < lucky["high"] and lucky["high"] - lucky["low"] > 200
    assert 0.5 < lucky["win_rate_low"] < 0.7 and lucky["win_rate_high"] == 1
    assert not lucky["enough_data"] and not board["unlucky"]["enough_data"]
    assert board["steady"]["enough_data"] and board["other"]["enough_data"]
    assert [row["name"] for row in data["leaderboard"]] == ["steady", "other", "lucky", "unlucky"]
    assert data["rules"]["min_comparisons"] == 20


@pytest.mark.django_db
@pytest.mark.parametrize("items", [0, 1, 2])
def test_agreement_on_few_items_is_not_enough_data(staff, items):
    from ..factories import UserFactory

    project, version, configs = _arena(staff, f"Few items {items}", ["a", "b"])
    pair = [UserFactory(username=f"few-{items}-1"), UserFactory(username=f"few-{items}-2")]
    for i in range(items):  # both labelers agree on every item
        _compare(project, version, configs, "a", "b", pair, f"q{i}")
    agreement = project_stats_compute(project=project)["agreement"]["pairwise"]
    assert agreement["items"] == items and agreement["enough_data"] is False
    if items:
        assert agreement["value"] == 1 and agreement["low"] < 0.8 and agreement["high"] == 1
    else:
        assert agreement["value"] is None


@pytest.mark.django_db
def test_agreement_on_enough_items(staff):
    from ..factories import UserFactory

    project, version, configs = _arena(staff, "Enough items", ["a", "b"])
    pair = [UserFactory(username="enough-1"), UserFactory(username="enough-2")]
    for i in range(10):
        _compare(project, version, configs, "a", "b", pair, f"q{i}")
    agreement = project_stats_compute(project=project)["agreement"]["pairwise"]
    assert agreement["items"] == 10 and agreement["enough_data"] is True
    assert agreement["value"] == 1 and agreement["low"] < 1  # 10 of 10 agree: Wilson [0.72, 1]
