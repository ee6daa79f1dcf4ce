"""Fixtures for the browser pages (tests/web): a project with guidelines, prompts and an import.

Data is made through the services (see tests/conftest.py for staff, project, members, publish)."""

import json

import pytest

from labelhub.prompts import services as prompt_services

GUIDELINES_V1 = "# Labeling guidelines\n\nBe helpful.\n\n## Tone\n\nBe kind.\n"
GUIDELINES_V2 = (
    "# Labeling guidelines\n\nBe helpful and truthful.\n\n## Tone\n\nBe kind.\n\n## Safety\n\nRefuse harm.\n"
)


def jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


@pytest.fixture
def import_prompts(staff):
    """import_prompts(project, records_or_bytes, filename=...) → the finished PromptImport."""

    def run(project, records, filename="prompts.jsonl"):
        data = records if isinstance(records, bytes) else jsonl(records)
        return prompt_services.prompt_import_start(project=project, user=staff, chunks=iter([data]), filename=filename)

    return run


def prompt_records(n: int, *, start: int = 0) -> list[dict]:
    return [
        {
            "id": f"p{start + i}",
            "prompt": f"Question number {start + i}?",
            "tags": ["math" if i % 2 else "general"],
            "track": "helpful",
            "candidates": [{"content": "Answer A", "model": "m1"}, {"content": "Answer B", "model": "m2"}],
        }
        for i in range(n)
    ]


@pytest.fixture
def site(project, members, staff, publish, import_prompts):
    """The project with guidelines v1 and v2, three prompts from one import, and a user per role."""
    publish(project, staff, GUIDELINES_V1, note="First version")
    publish(project, staff, GUIDELINES_V2, note="Add safety")
    imp = import_prompts(project, prompt_records(3))
    assert imp.status == "done", imp.message
    prompt = project.prompts.order_by("id").first()
    return {"project": project, "members": members, "import": imp, "prompt": prompt}
