"""An admin ticks prompts on the prompt list, opens "Generate for selected…", previews the count and
starts the batch: only the ticked prompts get jobs."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from labelhub.generation import services as generation_services
from labelhub.generation import tasks
from labelhub.generation.models import GenerationBatch
from labelhub.projects.models import Role
from labelhub.prompts import services as prompt_services

PASSWORD = "correct horse battery staple"  # tests/factories.py


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_generate_for_selected_prompts(page: Page, live_server, project, members, staff, monkeypatch, console_problems):
    monkeypatch.setattr(tasks.generate_candidate_task, "apply_async", lambda *a, **kw: None)
    records = [{"id": f"p{i}", "prompt": f"Question {i}?", "track": "helpful"} for i in range(4)]
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    prompt_services.prompt_import_start(project=project, user=staff, chunks=iter([data]), filename="p.jsonl")
    generation_services.model_config_create(
        project=project,
        data={"name": "Local", "base_url": "http://127.0.0.1:9/v1", "model": "m", "candidates_per_prompt": 2},
    )
    ids = {p.external_id: p.pk for p in project.prompts.all()}

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(members[Role.ADMIN].username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/projects/{project.pk}/prompts/")
    page.get_by_label(f"Select prompt #{ids['p1']}").check()
    page.get_by_label(f"Select prompt #{ids['p3']}").check()
    page.get_by_role("button", name="Generate for selected…").click()

    expect(page).to_have_url(re.compile(r"/generation/batches/new/\?prompt_ids="))
    expect(page.get_by_label(re.compile(r"selected on the prompt list \(2 selected\)"))).to_be_checked()
    page.get_by_role("button", name="Preview the count").click()
    expect(page.locator("#batch-preview")).to_contain_text("reaches 2 prompts and would queue 4 samples")
    assert GenerationBatch.objects.count() == 0
    page.get_by_role("button", name="Start the batch").click()
    expect(page.get_by_text(re.compile(r"Batch #\d+ started: 4 samples"))).to_be_visible()
    batch = GenerationBatch.objects.get()
    assert set(batch.jobs.values_list("prompt_id", flat=True)) == {ids["p1"], ids["p3"]}
