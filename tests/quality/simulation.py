"""Synthetic labelers with planted behaviour, writing real labels into a project."""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from labelhub.projects import services as project_services
from labelhub.projects.models import Role

from ..exports import builders as b
from ..factories import UserFactory

BEHAVIOURS = ("honest", "random", "position", "length", "adversarial", "fast")


@dataclass
class Simulated:
    project: object
    users: dict  # name → user
    behaviour: dict  # name → behaviour
    gold_items: list
    items: list


def _rank(order: list, ids: list) -> dict:
    return {str(cid): ids_rank for ids_rank, cid in enumerate(order, start=1) if cid in ids}


def judge(behaviour: str, rng: random.Random, cands: list, quality: dict, lengths: dict, shown: list) -> dict:
    """A ranking of candidate ids as this kind of labeler would give it."""
    ids = [c.pk for c in cands]
    if behaviour in ("honest", "fast"):
        noisy = {cid: quality[cid] + rng.gauss(0, 0.25) for cid in ids}
        order = sorted(ids, key=lambda c: -noisy[c])
    elif behaviour == "random":
        order = rng.sample(ids, len(ids))
    elif behaviour == "position":
        order = [shown[0], *rng.sample(shown[1:], len(shown) - 1)]
    elif behaviour == "length":
        order = sorted(ids, key=lambda c: -lengths[c])
    elif behaviour == "adversarial":
        order = sorted(ids, key=lambda c: quality[c])
    else:
        raise ValueError(behaviour)
    return _rank(order, ids)


def simulate(staff, *, honest=6, items=150, per_item=5, gold=20, seed=7) -> Simulated:
    rng = random.Random(seed)
    project = project_services.project_create(user=staff, name="Simulation", candidates_per_prompt=4)
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="x")
    behaviour = {f"honest{i}": "honest" for i in range(honest)}
    behaviour |= {name: name for name in ("random", "position", "length", "adversarial", "fast")}
    users = {}
    for name in behaviour:
        users[name] = UserFactory(username=f"sim-{name}")
        project_services.membership_add(project=project, username=users[name].username, role=Role.LABELER)
    names = list(behaviour)
    start = timezone.now() - timedelta(days=3)
    made_items, gold_items = [], []
    for i in range(items + gold):
        # Quality and length are independent: a length-biased labeler disagrees with honest ones.
        texts = [("word " * rng.randint(5, 120)).strip() for _ in range(4)]
        p, cands = b.prompt(project, f"question {i}", candidates=texts)
        quality = {c.pk: q for c, q in zip(cands, rng.sample([0.0, 1.0, 2.0, 3.0], 4), strict=True)}
        lengths = {c.pk: len(c.content) for c in cands}
        is_gold = i >= items
        item = b.comparison(project, p, cands, overlap=len(names) if is_gold else per_item)
        who = names if is_gold else rng.sample(names, per_item)
        for name in who:
            shown = rng.sample([c.pk for c in cands], 4)
            ranks = judge(behaviour[name], rng, cands, quality, lengths, shown)
            label = b.label(
                item, users[name], version, display_order=shown, ranks=ranks, at=start + timedelta(minutes=i)
            )
            seconds = rng.uniform(1, 2) if behaviour[name] == "fast" else rng.uniform(30, 120)
            type(label).objects.filter(pk=label.pk).update(time_on_task_ms=int(seconds * 1000))
        (gold_items if is_gold else made_items).append((item, cands, quality))
    return Simulated(project=project, users=users, behaviour=behaviour, gold_items=gold_items, items=made_items)
