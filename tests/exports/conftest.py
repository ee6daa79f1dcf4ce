from dataclasses import dataclass, field

import pytest

from labelhub.projects import services as project_services
from labelhub.projects.models import Role

from ..factories import UserFactory
from . import builders as b

UNICODE = (
    "Emoji 👋🏽, RTL \u200fשלום\u200f, zero\u200bwidth, combining e\u0301, </script><script>alert(1)</script>, "
    'back\\slash, "quotes", tab\tand\nnewline\u2028\u2029\u0085'
)


@dataclass
class Golden:
    project: object
    users: dict
    versions: list
    prompts: dict = field(default_factory=dict)
    candidates: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)


@pytest.fixture
def golden(staff):
    """A project with everything an export must handle: ties, "all bad", K = 2 with strength, K = 4,
    multi-turn prompts with a system message, edited and unedited demonstrations, several labelers on
    one item, safety verdicts, flags, a rejected label and hostile unicode."""
    project = project_services.project_create(user=staff, name="Golden", candidates_per_prompt=4)
    users = {}
    for name, role in (
        ("alice", Role.LABELER),
        ("bob", Role.LABELER),
        ("carol", Role.REVIEWER),
        ("eve", Role.ENGINEER),
    ):
        users[name] = UserFactory(username=name)
        project_services.membership_add(project=project, username=name, role=role)
    v1 = project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content="# v1")
    v2 = project_services.guideline_version_publish(project=project, user=staff, change_note="v2", content="# v2")
    g = Golden(project=project, users=users, versions=[v1, v2])
    alice, bob, carol = users["alice"], users["bob"], users["carol"]

    # K = 4, multi-turn with a system message, three labelers (alice ties two answers).
    p1, (c1, c2, c3, c4) = b.prompt(
        project,
        [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Capital of France?"},
        ],
        external_id="geo-1",
        candidates=[
            ("Paris.", "smol-a"),
            ("Lyon.", "smol-b"),
            ("Paris is the capital.", "smol-a"),
            ("No idea.", "smol-b"),
        ],
    )
    item1 = b.comparison(project, p1, [c1, c2, c3, c4])
    g.labels["p1_alice"] = b.label(
        item1,
        alice,
        v1,
        ranks={c1: 1, c3: 1, c2: 2, c4: 3},
        flags={str(c2.pk): ["hallucination"]},
        display_order=[c2.pk, c1.pk, c4.pk, c3.pk],
        rationale="c1 and c3 are equally good.",
    )
    g.labels["p1_bob"] = b.label(item1, bob, v2, ranks={c3: 1, c1: 2, c2: 3, c4: 4})
    g.labels["p1_carol"] = b.label(item1, carol, v2, ranks={c1: 1, c3: 2, c2: 3, c4: 4})

    # K = 2 with strength: two agree (better, much better), one ties.
    p2, (c5, c6) = b.prompt(
        project, "How do I square a list in Python?", candidates=["[x * x for x in xs]", "Use a loop."]
    )
    item2 = b.comparison(project, p2, [c5, c6])
    g.labels["p2_alice"] = b.label(item2, alice, v2, ranks={c5: 1, c6: 2}, strength="better")
    g.labels["p2_bob"] = b.label(item2, bob, v2, ranks={c5: 1, c6: 2}, strength="much_better")
    g.labels["p2_carol"] = b.label(item2, carol, v2, ranks={c5: 1, c6: 1})

    # K = 3, harmless track, "all bad", everything unsafe.
    p3, (c7, c8, c9) = b.prompt(
        project, "How do I pick a lock?", track="harmless", candidates=["Step 1: …", "Buy a pick set and …", "Sure!"]
    )
    item3 = b.comparison(project, p3, [c7, c8, c9])
    bad = {"helpful": 2, "truthful": 4, "harmless": 1}
    g.labels["p3_alice"] = b.label(
        item3,
        alice,
        v2,
        all_bad=True,
        ranks={},
        ratings={str(c.pk): dict(bad) for c in (c7, c8, c9)},
        safety={str(c.pk): "unsafe" for c in (c7, c8, c9)},
    )

    # K = 2, red team: a safe refusal beats a harmful answer; unicode everywhere.
    p4, (c10, c11) = b.prompt(
        project, UNICODE, track="red-team", candidates=[f"I can't help with that. {UNICODE}", "Here is how: …"]
    )
    item4 = b.comparison(project, p4, [c10, c11])
    g.labels["p4_bob"] = b.label(
        item4,
        bob,
        v2,
        ranks={c10: 1, c11: 2},
        strength="slightly_better",
        safety={str(c10.pk): "safe", str(c11.pk): "unsafe"},
        flags={str(c11.pk): ["harmful content"]},
        ratings={
            str(c10.pk): {"helpful": 5, "truthful": 6, "harmless": 7},
            str(c11.pk): {"helpful": 4, "truthful": 4, "harmless": 1},
        },
    )

    # Demonstrations: written from scratch (unicode), fixed from a candidate, "fixed" without a change,
    # and one rejected in review (never exported by default).
    p5, _ = b.prompt(project, f"Greet me. {UNICODE}")
    g.labels["p5_alice"] = b.label(b.demonstration_item(project, p5), alice, v1, content=f"Hello! {UNICODE}")
    p6, (c12,) = b.prompt(project, "What is 2 + 2?", candidates=[("The answr is 5.", "smol-a")])
    item6 = b.demonstration_item(project, p6)
    g.labels["p6_alice"] = b.label(item6, alice, v2, content="The answer is 4.", source_candidate=c12)
    g.labels["p6_carol"] = b.label(item6, carol, v2, content="Bad.", review_status="rejected")
    p7, (c13,) = b.prompt(project, "Say yes.", candidates=["Yes."])
    g.labels["p7_bob"] = b.label(b.demonstration_item(project, p7), bob, v2, content="Yes.", source_candidate=c13)

    # A demonstration on the multi-turn prompt: earlier assistant turns are context, not targets.
    g.labels["p1_demo_bob"] = b.label(b.demonstration_item(project, p1), bob, v2, content="Paris.")

    g.prompts = {"p1": p1, "p2": p2, "p3": p3, "p4": p4, "p5": p5, "p6": p6, "p7": p7}
    g.candidates = {f"c{i}": c for i, c in enumerate((c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13), 1)}
    return g


# --- a custom labeling schema, two versions (tests/exports/test_schemas.py, the golden files) ----------

CUSTOM_V1 = {
    "tracks": [{"name": "code", "label": "Code"}, {"name": "chat", "label": "Chat"}],
    "questions": [
        {"name": "quality", "type": "scale", "label": "Quality", "min": 1, "max": 5},
        {"name": "refuses", "type": "binary", "label": "Refuses", "required": False},
        {"name": "tone", "type": "choice", "label": "Tone", "options": ["formal", "casual"], "required": False},
        {"name": "flags", "type": "multi", "label": "Flags", "options": ["typo", "rude"], "required": False},
        {"name": "note", "type": "text", "label": "Note", "required": False, "max_length": 200},
    ],
    "strength": {
        "levels": [
            {"name": "clearly", "label": "Clearly", "margin": 5},
            {"name": "barely", "label": "Barely", "margin": 1},
        ]
    },
    "safety": {"enabled": False, "required_on": []},
    "kto": {
        "undesirable_at_or_below": {"quality": 2},
        "desirable_at_or_above": {"quality": 4},
        "undesirable_if": ["refuses"],
    },
}
# Version 2: another question order, a 0-10 scale, other strength levels and margins, flags make an
# answer undesirable instead of "refuses" (gone), and a new track.
CUSTOM_V2 = {
    "tracks": [*CUSTOM_V1["tracks"], {"name": "math", "label": "Math"}],
    "questions": [
        {"name": "note", "type": "text", "label": "Note", "required": False, "max_length": 200},
        {"name": "quality", "type": "scale", "label": "Quality", "min": 0, "max": 10},
        {"name": "flags", "type": "multi", "label": "Flags", "options": ["typo", "rude"], "required": False},
    ],
    "strength": {
        "levels": [
            {"name": "decisively", "label": "Decisively", "margin": 9},
            {"name": "somewhat", "label": "Somewhat", "margin": 4},
        ]
    },
    "safety": {"enabled": False, "required_on": []},
    "kto": {
        "undesirable_at_or_below": {"quality": 3},
        "desirable_at_or_above": {"quality": 8},
        "undesirable_if": ["flags"],
    },
}


def publish_schema(project, staff, schema, note):
    """Save `schema` (None: keep the draft's) into the draft and publish it as the next version."""
    if schema is not None:
        project_services.guideline_draft_save(project=project, user=staff, schema=schema)
    return project_services.guideline_version_publish(project=project, user=staff, change_note=note, content=note)


def add_labelers(project, *names):
    users = []
    for name in names:
        users.append(UserFactory(username=f"{name}-{project.pk}"))
        project_services.membership_add(project=project, username=users[-1].username, role=Role.LABELER)
    return users


@pytest.fixture
def custom(staff, make_project):
    project = make_project("Custom", preset="minimal", candidates_per_prompt=2)
    v1 = publish_schema(project, staff, CUSTOM_V1, "v1")
    v2 = publish_schema(project, staff, CUSTOM_V2, "v2")
    alice, bob, carol = add_labelers(project, "alice", "bob", "carol")
    p1, (c1, c2) = b.prompt(project, "Write fizzbuzz.", track="code", candidates=["for i in …", "print(1)"])
    item = b.comparison(project, p1, [c1, c2])
    labels = {
        # v1: stored in another order than the schema's; flags live in Label.flags.
        "l1": b.label(
            item,
            alice,
            v1,
            ranks={c1: 1, c2: 2},
            strength="clearly",
            ratings={
                str(c1.pk): {"note": "fine", "tone": "formal", "quality": 5, "refuses": False},
                str(c2.pk): {"refuses": True, "quality": 3},
            },
            flags={str(c2.pk): ["rude"]},
        ),
        "l2": b.label(
            item,
            bob,
            v2,
            ranks={c1: 1, c2: 2},
            strength="decisively",
            ratings={str(c1.pk): {"quality": 9}, str(c2.pk): {"quality": 5, "note": "meh"}},
        ),
        "l3": b.label(
            item,
            carol,
            v2,
            ranks={c2: 1, c1: 2},
            strength="somewhat",
            ratings={str(c1.pk): {"quality": 2}, str(c2.pk): {"quality": 8}},
            flags={str(c2.pk): ["typo"]},
        ),
    }
    p2, (c3, c4, c5) = b.prompt(project, "Integrate x².", track="math", candidates=["x³/3 + C", "2x", "x²"])
    labels["l4"] = b.label(
        b.comparison(project, p2, [c3, c4, c5]),
        alice,
        v2,
        ranks={c3: 1, c4: 2, c5: 3},
        ratings={str(c3.pk): {"quality": 8}, str(c4.pk): {"quality": 6}, str(c5.pk): {"quality": 0}},
    )
    p3, (c6,) = b.prompt(project, "Say hi.", track="chat", candidates=["hi"])
    labels["demo"] = b.label(b.demonstration_item(project, p3), bob, v1, content="Hello!", source_candidate=c6)
    cands = dict(zip(("c1", "c2", "c3", "c4", "c5", "c6"), (c1, c2, c3, c4, c5, c6), strict=True))
    return {"project": project, "versions": (v1, v2), "labels": labels, "c": cands}
