"""Generation API: role matrix, cross-project 404s, and the API key never leaves the server."""

import logging

import pytest

from labelhub.generation import services
from labelhub.generation.models import GenerationJob, JobStatus, ModelConfig
from labelhub.projects.models import Membership, Role
from labelhub.prompts.models import Prompt
from tests.factories import UserFactory

ADMIN, LABELER, REVIEWER, ENGINEER = Role.ADMIN, Role.LABELER, Role.REVIEWER, Role.ENGINEER
PROVENANCE = {ADMIN, ENGINEER}  # Capability.SEE_PROVENANCE: configs and batches name models
SECRET = "sk-very-secret-key-123456"


@pytest.fixture
def gen_world(project, staff, members, sent):
    config = services.model_config_create(
        project=project, data={"name": "cfg", "base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": SECRET}
    )
    spare = services.model_config_create(
        project=project, data={"name": "spare", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    )
    prompt = Prompt.objects.create(
        project=project, messages=[{"role": "user", "content": "q"}], text="q", content_hash="a" * 64
    )
    batch = services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[prompt.pk])
    job = GenerationJob.objects.filter(batch=batch).first()
    GenerationJob.objects.filter(batch=batch).update(status=JobStatus.FAILED, error="boom")
    return {"project": project, "config": config, "spare": spare, "prompt": prompt, "batch": batch, "job": job}


def gen_endpoints(w):
    p, c = w["project"].pk, w["config"].pk
    new_config = {"name": "new", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    new_batch = {"model_config": c, "prompt_ids": [w["prompt"].pk]}
    return [
        ("get", f"/api/v1/projects/{p}/model-configs", None, PROVENANCE, 200),
        ("post", f"/api/v1/projects/{p}/model-configs", new_config, {ADMIN}, 201),
        ("get", f"/api/v1/projects/{p}/model-configs/{c}", None, PROVENANCE, 200),
        ("patch", f"/api/v1/projects/{p}/model-configs/{c}", {"temperature": 0.9}, {ADMIN}, 200),
        ("post", f"/api/v1/projects/{p}/model-configs/{c}/test", None, {ADMIN}, 202),
        ("get", f"/api/v1/projects/{p}/generation-batches", None, PROVENANCE, 200),
        ("post", f"/api/v1/projects/{p}/generation-batches", new_batch, {ADMIN}, 201),
        ("get", f"/api/v1/generation-batches/{w['batch'].pk}", None, PROVENANCE, 200),
        ("get", f"/api/v1/generation-batches/{w['batch'].pk}/jobs?status=failed", None, PROVENANCE, 200),
        ("post", f"/api/v1/generation-jobs/{w['job'].pk}/retry", None, {ADMIN}, 200),
        ("post", f"/api/v1/generation-batches/{w['batch'].pk}/retry-failed", None, {ADMIN}, 200),
        ("delete", f"/api/v1/projects/{p}/model-configs/{w['spare'].pk}", None, {ADMIN}, 204),
    ]  # fmt: skip


def _call(client, method, url, body):
    return getattr(client, method)(url) if body is None else getattr(client, method)(url, body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("who", [ADMIN, LABELER, REVIEWER, ENGINEER, "outsider", "anonymous"])
def test_generation_role_matrix(gen_world, members, api, who):
    client = api(None if who == "anonymous" else members[who])
    failures = []
    for method, url, body, allowed, ok in gen_endpoints(gen_world):
        response = _call(client, method, url, body)
        expected = 401 if who == "anonymous" else 404 if who == "outsider" else ok if who in allowed else 403
        if response.status_code != expected:
            failures.append(f"{method.upper()} {url}: {response.status_code} != {expected} {response.content[:150]!r}")
        assert SECRET.encode() not in response.content
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_other_projects_admin_gets_404_everywhere(gen_world, make_project, api):
    other = make_project("Other")
    intruder = UserFactory(username="intruder")
    Membership.objects.create(project=other, user=intruder, role=ADMIN)
    client = api(intruder)
    for method, url, body, _allowed, _ok in gen_endpoints(gen_world):
        assert _call(client, method, url, body).status_code == 404, url
    # A foreign config id through one's own project, and a foreign prompt in one's own batch.
    assert client.get(f"/api/v1/projects/{other.pk}/model-configs/{gen_world['config'].pk}").status_code == 404
    own = services.model_config_create(
        project=other, data={"name": "o", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    )
    response = client.post(
        f"/api/v1/projects/{other.pk}/generation-batches",
        {"model_config": own.pk, "prompt_ids": [gen_world["prompt"].pk]},
        format="json",
    )
    assert response.status_code == 400 and response.json()["extra"]["unknown_prompt_ids"] == [gen_world["prompt"].pk]


@pytest.mark.django_db
def test_api_key_is_write_only(gen_world, members, api):
    client = api(members[ADMIN])
    p, c = gen_world["project"].pk, gen_world["config"].pk
    body = client.get(f"/api/v1/projects/{p}/model-configs/{c}").json()
    assert body["has_api_key"] is True and "api_key" not in body
    # A blank key keeps the stored one; clear_api_key removes it.
    client.patch(f"/api/v1/projects/{p}/model-configs/{c}", {"api_key": ""}, format="json")
    assert ModelConfig.objects.get(pk=c).api_key == SECRET
    client.patch(f"/api/v1/projects/{p}/model-configs/{c}", {"clear_api_key": True}, format="json")
    assert ModelConfig.objects.get(pk=c).api_key == ""
    assert SECRET.encode() not in client.get("/api/schema/").content


@pytest.mark.django_db
def test_api_key_never_logged_during_generation(project, staff, caplog, sent, settings, monkeypatch):
    from tests.generation.fake_openai import FakeOpenAI, allow_inference_server

    server = FakeOpenAI().start()
    allow_inference_server(settings, monkeypatch, server.host_port)
    try:
        server.mode = "400"
        config = services.model_config_create(
            project=project, data={"name": "k", "base_url": server.base_url, "model": "m", "api_key": SECRET}
        )
        prompt = Prompt.objects.create(
            project=project, messages=[{"role": "user", "content": "q"}], text="q", content_hash="b" * 64
        )
        batch = services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[prompt.pk])
        with caplog.at_level(logging.DEBUG):
            for job in GenerationJob.objects.filter(batch=batch):
                services.generation_job_run(job_id=job.pk, task_id=job.task_id)
            services.model_config_check_run(config_id=config.pk)
        assert server.bodies and server.bodies[0]["auth"] == f"Bearer {SECRET}"
        assert SECRET not in caplog.text
        assert all(SECRET not in (j.error or "") for j in GenerationJob.objects.all())
    finally:
        server.stop()


@pytest.mark.django_db
def test_batch_input_validation(gen_world, members, api):
    client = api(members[ADMIN])
    url = f"/api/v1/projects/{gen_world['project'].pk}/generation-batches"
    c = gen_world["config"].pk
    for body in (
        {"model_config": c},
        {"model_config": c, "prompt_ids": [1], "fewer_than": 2},
        {"model_config": c, "fewer_than": 0},
        {"model_config": c, "prompt_ids": ["x"]},
        {"model_config": 999999, "fewer_than": 2},
        {"model_config": c, "fewer_than": 2, "priority": "high"},
    ):
        response = client.post(url, body, format="json")
        assert response.status_code in (400, 404), (body, response.content)
        assert set(response.json()) == {"message", "extra"}
