"""Connection checks and jobs: URLs validated on write, no check or job left "running" after an
unexpected exception, classified errors (never the server's reply) in pages and API answers."""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from labelhub.generation import services, tasks
from labelhub.generation.models import CheckStatus, GenerationJob, JobStatus, ModelConfig
from labelhub.integrations.inference.errors import ErrorKind
from labelhub.prompts.models import Prompt

pytestmark = pytest.mark.django_db

MALFORMED = "http://127.0.0.1:8000:80/v1"


@pytest.fixture
def prompt(project):
    return Prompt.objects.create(
        project=project, messages=[{"role": "user", "content": "q"}], text="q", content_hash="c" * 64
    )


@pytest.fixture
def admin_api(api, staff):
    return api(staff)


def test_a_malformed_port_is_refused_on_write(project, admin_api, settings):
    settings.INFERENCE_ALLOWED_HOSTS = ["127.0.0.1:8000"]
    configs = f"/api/v1/projects/{project.pk}/model-configs"
    for url in ("http://93.184.216.34:8000:80/v1", MALFORMED):
        response = admin_api.post(configs, {"name": "x", "base_url": url, "model": "m"}, format="json")
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["message"] == "Invalid model config."
        assert "port must be a number" in body["extra"]["fields"]["base_url"][0]
    assert not ModelConfig.objects.exists()
    good = admin_api.post(configs, {"name": "x", "base_url": "http://127.0.0.1:8000/v1", "model": "m"}, format="json")
    assert good.status_code == 201
    edit = admin_api.patch(f"{configs}/{good.json()['id']}", {"base_url": MALFORMED}, format="json")
    assert edit.status_code == 400 and ModelConfig.objects.get().base_url == "http://127.0.0.1:8000/v1"


def test_the_check_of_a_malformed_stored_url_ends_failed(project, sent, django_capture_on_commit_callbacks):
    """A row saved before URLs were validated: its check used to crash in httpx and stay "running"."""
    config = ModelConfig.objects.create(project=project, name="legacy", base_url=MALFORMED, model="m")
    services.model_config_check_start(config=config)
    assert ModelConfig.objects.get(pk=config.pk).last_check_status == CheckStatus.RUNNING
    config = services.model_config_check_run(config_id=config.pk)
    assert config.last_check_status == CheckStatus.FAILED
    assert config.last_check_error["kind"] == ErrorKind.INVALID_URL


def test_an_unexpected_exception_never_leaves_a_check_running(project, sent, monkeypatch):
    config = ModelConfig.objects.create(project=project, name="c", base_url="http://127.0.0.1:9/v1", model="m")
    services.model_config_check_start(config=config)

    def crash(**kwargs):
        raise RuntimeError("something nobody planned for")

    monkeypatch.setattr(services, "chat_completion", crash)
    with pytest.raises(RuntimeError):
        tasks.model_config_check_task(config_id=config.pk)  # the task body, run here
    config.refresh_from_db()
    assert config.last_check_status == CheckStatus.FAILED
    assert config.last_check_error == {"kind": ErrorKind.INTERNAL}
    assert "nobody planned" not in str(config.last_check_error)


def test_an_unexpected_exception_never_leaves_a_job_running(project, staff, prompt, sent, monkeypatch):
    config = ModelConfig.objects.create(project=project, name="c", base_url="http://127.0.0.1:9/v1", model="m")
    batch = services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[prompt.pk])
    job = GenerationJob.objects.filter(batch=batch).first()

    def crash(**kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(services, "chat_completion", crash)
    outcome = services.generation_job_run(job_id=job.pk, task_id=job.task_id)
    job.refresh_from_db()
    assert outcome.status == JobStatus.FAILED and job.status == JobStatus.FAILED
    assert job.error == "Unexpected error (details in the server log)" and job.lease_expires_at is None


def test_a_job_with_a_malformed_stored_url_fails_at_once(project, staff, prompt, sent):
    config = ModelConfig.objects.create(project=project, name="legacy", base_url=MALFORMED, model="m")
    batch = services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[prompt.pk])
    job = GenerationJob.objects.filter(batch=batch).first()
    assert services.generation_job_run(job_id=job.pk, task_id=job.task_id).status == JobStatus.FAILED
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error.startswith("Invalid base URL")


def test_the_reaper_fails_checks_stuck_running(project):
    now = timezone.now()
    lost = ModelConfig.objects.create(
        project=project, name="lost", base_url="http://127.0.0.1:9/v1", model="m",
        last_check_status=CheckStatus.RUNNING, last_check_at=now - timedelta(minutes=6),
    )  # fmt: skip
    live = ModelConfig.objects.create(
        project=project, name="live", base_url="http://127.0.0.1:9/v1", model="m",
        last_check_status=CheckStatus.RUNNING, last_check_at=now - timedelta(seconds=30),
    )  # fmt: skip
    assert services.generation_reap()["checks_failed"] == 1
    lost.refresh_from_db()
    live.refresh_from_db()
    assert lost.last_check_status == CheckStatus.FAILED and lost.last_check_error == {"kind": ErrorKind.STUCK}
    assert live.last_check_status == CheckStatus.RUNNING


@pytest.mark.parametrize(
    ("mode", "error", "raw"),
    [
        ("500", {"kind": "http_status", "status": 500, "reason": "Internal Server Error"}, "boom"),
        ("400", {"kind": "http_status", "status": 400, "reason": "Bad Request"}, "unknown model"),
        ("nonjson", {"kind": "invalid_response", "reason": "not JSON"}, "definitely not json"),
    ],
)
def test_check_errors_are_classified_and_raw_replies_stay_in_the_log(
    project, staff, prompt, fake_server, make_config, admin_api, client, sent, caplog, mode, error, raw
):
    fake_server.mode = mode
    config = make_config(fake_server.base_url)
    with caplog.at_level(logging.WARNING, logger="labelhub.integrations.inference.client"):
        config = services.model_config_check_run(config_id=config.pk)
    assert config.last_check_status == CheckStatus.FAILED
    assert config.last_check_error == error
    assert raw in caplog.text  # for the operator, in the server log
    api_check = admin_api.get(f"/api/v1/projects/{project.pk}/model-configs/{config.pk}").json()["last_check"]
    assert api_check["error"]["kind"] == error["kind"] and raw not in str(api_check)
    client.force_login(staff)
    page = client.get(reverse("projects:generation:models", kwargs={"project_id": project.pk})).content.decode()
    assert "Failed" in page and raw not in page
    # Jobs store the same classification, not the reply.
    batch = services.generation_batch_create(project=project, user=staff, config=config, prompt_ids=[prompt.pk])
    for job in GenerationJob.objects.filter(batch=batch):
        services.generation_job_run(job_id=job.pk, task_id=job.task_id)
    errors = list(GenerationJob.objects.filter(batch=batch).values_list("error", flat=True))
    assert errors and all(e and raw not in e for e in errors)


@pytest.mark.django_db(transaction=True)
def test_migration_clears_raw_check_errors(project):
    before = [("generation", "0003_api_key_encrypted_at_rest")]
    after = [("generation", "0004_model_config_check_error_classified")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    Old = executor.loader.project_state(before).apps.get_model("generation", "ModelConfig")
    Old.objects.create(
        project_id=project.pk, name="a", base_url="http://x/v1", model="m", last_check_status="failed",
        last_check_error="The inference server answered HTTP 500: <html>internal token abc123</html>",
    )  # fmt: skip
    b = Old.objects.create(project_id=project.pk, name="b", base_url="http://x/v1", model="m", last_check_status="ok")
    old_apps = executor.loader.project_state(before).apps
    prompt = old_apps.get_model("prompts", "Prompt").objects.create(
        project_id=project.pk, messages=[], text="q", content_hash="d" * 64
    )
    batch = old_apps.get_model("generation", "GenerationBatch").objects.create(
        project_id=project.pk, model_config_id=b.pk, mode="prompts"
    )
    Job = old_apps.get_model("generation", "GenerationJob")
    raw = {
        0: "Attempt 1 failed, retrying: The inference server answered HTTP 502: <html>token abc123</html>",
        1: "The inference server refused the request: HTTP 400: {'secret': 'abc123'}",
        2: "The inference server's answer is not JSON: '<html>abc123\\n</html>'",
        3: "Timed out talking to the inference server (ReadTimeout).",
    }
    for index, error in raw.items():
        Job.objects.create(
            batch_id=batch.pk, project_id=project.pk, prompt_id=prompt.pk, model_config_id=b.pk,
            sample_index=index, task_id=f"t{index}", status="failed", error=error,
        )  # fmt: skip
    MigrationExecutor(connection).migrate(after)
    rows = dict(ModelConfig.objects.values_list("name", "last_check_error"))
    assert rows == {"a": {"kind": ErrorKind.UNCLASSIFIED}, "b": {}}
    errors = list(GenerationJob.objects.order_by("sample_index").values_list("error", flat=True))
    assert not any("abc123" in e for e in errors)
    assert errors[0] == (
        "Attempt 1 failed, retrying: The inference server answered HTTP 502 (reply in the server log only)"
    )
    assert errors[3] == raw[3]
    executor = MigrationExecutor(connection)
    executor.migrate(before)  # reversible: back to text, no error kept
    Old = executor.loader.project_state(before).apps.get_model("generation", "ModelConfig")
    assert set(Old.objects.values_list("last_check_error", flat=True)) == {""}
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
