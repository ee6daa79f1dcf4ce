"""Planted quality, end to end: two fake OpenAI-compatible servers are two model configs, a real Celery
worker generates every answer through the generation queue, evaluation sets and runs are made by the
services, simulated labelers claim and submit through the labeling services with a planted truth, and the
runs finish by themselves (the hooks on the worker; no beat). The frozen reports must recover the truth:

- set "mixed" (20 "code" + 20 "chat" prompts, answers of equal length): labelers prefer model A on code
  with probability CODE_RATE, are indifferent on chat. The code track's score interval covers CODE_RATE,
  the answers that lost are triage items, and a second run of the same configs on the same set (answers
  reused, labeled afresh) raises no alarm and no significant change versus the first.
- set "style" (40 chat prompts): model B writes longer answers (by a varying amount, sometimes shorter),
  labelers are indifferent to quality but prefer the longer answer (logistic in the normalised length
  difference). The raw score of B is biased upward; the style-controlled one covers 0.5.

Labels are drawn from a hash of (run, prompt, labeler): deterministic whatever order the claim serves; on the mixed set
the planted rates are realised exactly (which labels win is drawn per run), on the style set each label is drawn."""

import hashlib
import math
import random

import pytest

from labelhub.evaluation.models import EvaluationPair, EvaluationRun, RunStatus, TriageItem
from labelhub.evaluation.outcomes import pair_outcomes
from labelhub.evaluation.services import runs
from labelhub.evaluation.services.sets import evaluation_set_create
from labelhub.labeling import services as labeling
from labelhub.prompts.models import Prompt

from ..generation.fake_openai import FakeOpenAI, allow_inference_server
from ..processes import require_services, start_worker, stop, wait_for
from .runs_world import labeler, make_config, ranking

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CODE_RATE = 0.8  # P(labeler prefers model A) on the code track of the mixed set
LENGTH_PREFERENCE = 4.0  # log-odds per unit of normalised length difference (style set)
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


def _words(n: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(n)) + "."


def _style_words(text: str) -> int:
    """Words of model B's answer to a style prompt (model A's have 20): 20 × exp(N(0.7, 0.6)), drawn
    from the prompt's text, so B is usually longer, by varying amounts, and now and then shorter."""
    return max(3, round(20 * math.exp(random.Random(text).gauss(0.7, 0.6))))


def _reply(name: str):
    def reply(body) -> str:
        text = body["messages"][-1]["content"]
        if text.startswith("style"):
            return _words(20 if name == "a" else _style_words(text))
        return f"{name.upper()} says: " + _words(12)  # the mixed set: same length, different text

    return reply


@pytest.fixture
def servers(settings, monkeypatch):
    pair = {name: FakeOpenAI().start() for name in ("a", "b")}
    for name, server in pair.items():
        allow_inference_server(settings, monkeypatch, server.host_port)
        server.reply = _reply(name)
        server.tokens = lambda content: len(content.split())
    yield pair
    for server in pair.values():
        server.stop()


@pytest.fixture
def worker(tmp_path, servers):  # the worker reads INFERENCE_ALLOWED_HOSTS once the servers are allowed
    require_services()
    proc = start_worker(tmp_path, "inference,default,fast")
    yield proc
    stop(proc)


def _prompts(project, prefix: str, track: str, n: int) -> list[int]:
    ids = []
    for i in range(n):
        text = f"{prefix} question {i}"
        ids.append(
            Prompt.objects.create(
                project=project,
                messages=[{"role": "user", "content": text}],
                text=text,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
                track=track,
            ).pk
        )
    return ids


def _draw(*key) -> float:
    return random.Random("|".join(map(str, key))).random()


def _mixed_choice(run, pairs, users):
    """Model A (the one under test) wins exactly CODE_RATE of the code labels and half of the chat ones:
    the planted rate without sampling noise (which labels win is drawn afresh for each run)."""
    wins = set()
    for track, rate in (("code", CODE_RATE), ("chat", 0.5)):
        keys = [(p.prompt.text, u.username) for p in pairs if p.prompt.track == track for u in users]
        keys.sort(key=lambda key: _draw(run.number, *key))
        wins.update(keys[: round(rate * len(keys))])

    def choose(item, user) -> int:
        test, baseline = item.candidate_ids
        return test if (item.prompt.text, user.username) in wins else baseline

    return choose


def _style_choice(run, pairs, users):
    """The longer answer wins with probability sigmoid(LENGTH_PREFERENCE × normalised difference)."""
    texts = {c.pk: c.content for p in pairs for c in (p.candidate, p.baseline_candidate)}

    def choose(item, user) -> int:
        test, baseline = item.candidate_ids
        a, b = len(texts[test].split()), len(texts[baseline].split())
        p = 1 / (1 + math.exp(-LENGTH_PREFERENCE * (a - b) / (a + b)))
        return test if _draw(run.number, item.prompt.text, user.username) < p else baseline

    return choose


def _label_run(project, run, users, plan) -> None:
    pairs = list(EvaluationPair.objects.filter(run=run).select_related("prompt", "candidate", "baseline_candidate"))
    choose = plan(run, pairs, users)
    for user in users:
        while (task := labeling.work_item_claim_next(project=project, user=user)) is not None:
            item = task.work_item
            assert item.origin["evaluation_run"] == run.pk  # only this run's pairs are open
            labeling.ranking_submit(user=user, assignment_id=task.pk, payload=ranking(item, choose(item, user)))


def _start(s, staff, test, baseline) -> EvaluationRun:
    return runs.evaluation_run_create(
        evaluation_set=s,
        user=staff,
        model_config=test,
        baseline_kind="config",
        baseline_config=baseline,
        labels_per_pair=2,
    )


def _run_to_the_end(project, run, users, choose, worker) -> EvaluationRun:
    def status():
        return EvaluationRun.objects.get(pk=run.pk).status

    wait_for(lambda: status() != RunStatus.GENERATING, timeout=60, what="the answers", proc=worker)
    assert status() == RunStatus.LABELING
    _label_run(project, run, users, choose)
    wait_for(lambda: status() == RunStatus.FINISHED, timeout=30, what="the finish", proc=worker)
    return EvaluationRun.objects.get(pk=run.pk)


def _track(report, name):
    return next(row for row in report["breakdowns"]["track"] if row["name"] == name)


def test_planted_quality_is_recovered_end_to_end(project, staff, servers, worker):
    # Two labels per pair, no more: quality control would ask a third, fourth… label of every split pair
    # (planted indifference splits half of them); at the cap a split pair goes to adjudication instead.
    project.max_overlap = 2
    project.save(update_fields=["max_overlap"])
    a = make_config(project, servers["a"].base_url, "a")
    b = make_config(project, servers["b"].base_url, "b")
    users = [labeler(project, f"sim-{i}", staff) for i in range(2)]
    mixed_ids = _prompts(project, "code", "code", 20) + _prompts(project, "chat", "chat", 20)
    mixed = evaluation_set_create(project=project, user=staff, name="mixed", prompt_ids=mixed_ids)
    style = evaluation_set_create(
        project=project, user=staff, name="style", prompt_ids=_prompts(project, "style", "chat", 40)
    )
    assert mixed.prompt_count == 40 and style.prompt_count == 40

    # 1. Model A better on code, by a planted rate.
    first = _run_to_the_end(project, _start(mixed, staff, a, b), users, _mixed_choice, worker)
    report = first.report
    assert report["overall"]["n_pairs"] == 40 and report["overall"]["n_labels"] == 80
    code, chat = _track(report, "code")["score"], _track(report, "chat")["score"]
    assert code["low"] <= CODE_RATE <= code["high"], code
    assert code["low"] > 0.5, code  # and it is told apart from a tie
    assert chat["low"] <= 0.5 <= chat["high"], chat

    # Every answer of A that lost (more labels below B than above) is a triage item, and only those.
    lost = {o.pair_id for o in pair_outcomes(run=first) if o.count("loss") > o.count("win")}
    assert lost, "the planted rate leaves some losses"
    items = TriageItem.objects.filter(run=first)
    assert {i.pair_id for i in items if "lost" in i.reasons} == lost
    assert {i.pair_id for i in items} == lost  # nothing flagged, unsafe or all bad was planted

    # 2. Model B longer, labelers who like length: raw biased, style-controlled ≈ a tie.
    styled = _run_to_the_end(project, _start(style, staff, b, a), users, _style_choice, worker)
    s = styled.report["style"]
    assert s["length_basis"] == "tokens"
    assert s["raw"]["low"] > 0.5, s["raw"]
    assert s["controlled"]["low"] <= 0.5 <= s["controlled"]["high"], s["controlled"]
    assert s["coefficients"]["length"]["value"] > 0, s["coefficients"]

    # 3. The same configs again on the mixed set: answers reused, nothing alarming, nothing significant.
    requests = servers["a"].requests + servers["b"].requests
    assert requests == 160  # 80 prompts × 2 configs, each asked once
    second = _run_to_the_end(project, _start(mixed, staff, a, b), users, _mixed_choice, worker)
    assert servers["a"].requests + servers["b"].requests == requests
    assert not [x for x in second.report["alarms"] if x["level"] == "alarm"], second.report["alarms"]
    change = second.report["previous"]["score"]
    assert second.report["previous"]["shared_prompts"] == 40
    assert not change["significant"] and change["low"] <= 0 <= change["high"], change
    print(  # pytest -s shows the measured figures
        f"\nPLANTED code {_fmt(code)} chat {_fmt(chat)} | style raw {_fmt(s['raw'])} controlled "
        f"{_fmt(s['controlled'])} | rerun change {_fmt(change)} p={change['p_value']:.2f} | triage {len(lost)}"
    )


def _fmt(e) -> str:
    return f"{e['value']:.3f} [{e['low']:.3f}, {e['high']:.3f}]"
