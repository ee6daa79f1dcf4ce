"""Data for the workbench tests (tests/web/test_labeling_pages.py, tests/e2e/test_workbench_browser.py):
prompts and candidates as rows, work items through labeling.services.work_items_sync."""

import hashlib

from labelhub.labeling import services as labeling_services
from labelhub.projects import services as project_services
from labelhub.projects.models import Project
from labelhub.prompts.models import Candidate, CandidateSource, Prompt


def make_prompt(project, text, candidates=(), *, track="helpful", system=None, external_id=None):
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
    prompt = Prompt.objects.create(
        project=project,
        external_id=external_id,
        messages=messages,
        text=text,
        track=track,
        content_hash=hashlib.sha256(repr(messages).encode()).hexdigest(),
    )
    for i, content in enumerate(candidates):
        Candidate.objects.create(prompt=prompt, content=content, source=CandidateSource.IMPORTED, model_name=f"m{i}")
    return prompt


def configure(project, *, demonstrations=True, comparisons=True, k=2, overlap=1) -> Project:
    """Which kinds of work the project asks for, K, and one label per item (simple queues)."""
    project = project_services.project_update(
        project=project,
        data={"candidates_per_prompt": k, "demonstration_overlap": overlap, "comparison_overlap": overlap},
    )
    Project.objects.filter(pk=project.pk).update(demonstrations_enabled=demonstrations, comparisons_enabled=comparisons)
    project.refresh_from_db()
    return project


def demonstrations_first(monkeypatch) -> None:
    """ "Anything" serves a mix (labeling.services._kind_order: the first kind tried is picked at random
    per claim); a test that walks a fixed story asks demonstrations first, comparisons after."""
    monkeypatch.setattr(
        labeling_services.random, "shuffle", lambda order: order.sort(key=lambda kinds: kinds != ["demonstration"])
    )


def ready(project, user, publish, staff, guidelines="# Guidelines\n\nBe helpful.\n"):
    """Guidelines published and acknowledged by `user`; work items built."""
    from labelhub.projects.selectors import guideline_version_current

    version = guideline_version_current(project=project) or publish(project, staff, guidelines)
    project_services.guideline_acknowledge(project=project, user=user, number=version.number)
    labeling_services.work_items_sync(project=project)
    return version


# A labeling schema with every question type, per-track questions, no ties, two strength levels and a
# required rationale (tests/e2e/test_workbench_schema_browser.py, tests/web/test_labeling_pages.py).
CUSTOM_SCHEMA = {
    "tracks": [
        {"name": "chat", "label": "Chat", "description": "Small talk."},
        {"name": "code", "label": "Code", "description": "Programming questions."},
    ],
    "questions": [
        {
            "name": "quality",
            "type": "scale",
            "label": "Quality",
            "hint": "Overall, how good is it?",
            "key": "q",
            "min": 1,
            "max": 5,
            "point_labels": {"1": "bad", "5": "great"},
        },
        {"name": "correct", "type": "binary", "label": "Correct", "key": "c", "required": True},
        {
            "name": "tone",
            "type": "choice",
            "label": "Tone",
            "key": "t",
            "required": True,
            "options": ["formal", "casual", "rude"],
        },
        {
            "name": "issues",
            "type": "multi",
            "label": "Issues",
            "key": "i",
            "required": False,
            "options": ["typo", "off-topic", "too long"],
        },
        {
            "name": "why",
            "type": "text",
            "label": "Why",
            "description": "One sentence about the code.",
            "key": "w",
            "required": True,
            "max_length": 200,
            "tracks": ["code"],
        },
    ],
    "ranking": {"enabled": True, "ties": False, "all_bad": True},
    "strength": {
        "levels": [
            {"name": "clearly", "label": "Clearly better", "margin": 2},
            {"name": "a_bit", "label": "A bit better", "margin": 1},
        ]
    },
    "safety": {"enabled": False, "required_on": []},
    "rationale": {"required": True, "max_length": 300},
}


def use_schema(project, staff, schema):
    """The labeling schema the next published guideline version freezes (through the draft)."""
    project_services.guideline_draft_save(project=project, user=staff, schema=schema)
