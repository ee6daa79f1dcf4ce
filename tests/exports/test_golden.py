"""Golden files: every kind and format (and the options that change rows) on the fixture project.

Regenerate after an intended change with:  LABELHUB_UPDATE_GOLDEN=1 make test PYTEST_ARGS=tests/exports/test_golden.py
and review the diff like code."""

import json
import os
import re
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    ("sft", "format=trl-messages"),
    ("sft", "format=trl-prompt-completion"),
    ("sft", "format=openai-chat"),
    ("sft", "format=trl-messages&metadata=true"),
    ("preferences", "format=trl-preference"),
    ("preferences", "format=trl-preference-implicit"),
    ("preferences", "format=openai-dpo"),
    ("preferences", "format=hh-rlhf"),
    ("preferences", "format=trl-preference&pairs=adjacent"),
    ("preferences", "format=trl-preference&pairs=best-vs-rest"),
    ("preferences", "format=trl-preference&include_edits=true"),
    ("preferences", "format=trl-preference&consensus=majority&metadata=true"),
    ("preferences", "format=trl-preference&metadata=true"),
    ("kto", "format=trl-kto"),
    ("kto", "format=trl-kto&include_edits=true&metadata=true"),
    ("kto", "format=trl-kto&consensus=majority"),
    ("rankings", "format=labelhub"),
    ("rankings", "format=labelhub&consensus=majority&pairs=adjacent&metadata=true"),
]
TIMESTAMP = re.compile(r'"(labeled_at|created_at)":"[^"]+"')


def _name(kind: str, query: str) -> str:
    return f"{kind}__{query.replace('format=', '').replace('&', '__').replace('=', '-')}.jsonl"


def export(client, project, kind, query) -> bytes:
    response = client.get(f"/api/v1/projects/{project.pk}/exports/{kind}.jsonl?{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    return b"".join(response.streaming_content)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_every_format_matches_its_golden_file(golden, api):
    """Ids are stable (sequences reset); timestamps are masked."""
    client = api(golden.users["eve"])
    update = os.environ.get("LABELHUB_UPDATE_GOLDEN") == "1"
    mismatched = []
    for kind, query in CASES:
        body = export(client, golden.project, kind, query).decode()
        assert body.endswith("\n") and body.count("\n") >= 1, (kind, query)
        for line in body.splitlines():
            json.loads(line)  # every line is one JSON object
        masked = TIMESTAMP.sub(r'"\1":"<timestamp>"', body)
        path = GOLDEN / _name(kind, query)
        if update:
            path.write_text(masked, encoding="utf-8")
        elif path.read_text(encoding="utf-8") != masked:
            mismatched.append(path.name)
    assert not mismatched, f"differs from golden: {mismatched} (LABELHUB_UPDATE_GOLDEN=1 to regenerate)"
