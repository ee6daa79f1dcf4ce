"""Generation pages: model configs, starting batches, batch progress, retries.

No broker: the Celery tasks' apply_async is replaced by a recorder (`sent`)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from labelhub.generation import services as generation_services
from labelhub.generation import tasks
from labelhub.generation.forms import format_stop, parse_stop
from labelhub.generation.models import CheckStatus, GenerationBatch, GenerationJob, JobStatus, ModelConfig
from labelhub.generation.templatetags.generation import duration
from labelhub.projects.models import Role
from labelhub.projects.permissions import Capability, role_can
from labelhub.prompts.models import Candidate, CandidateSource

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SECRET = "sk-SECRET-123"
BASE_URL = "http://127.0.0.1:9/v1"
ROLES = [Role.ADMIN, Role.LABELER, Role.REVIEWER, Role.ENGINEER]


@pytest.fixture
def sent(monkeypatch):
    """Records what would have gone to the broker: {"generate": [kwargs...], "check": [kwargs...]}."""
    calls = {"generate": [], "check": []}
    monkeypatch.setattr(tasks.generate_candidate_task, "apply_async", lambda *a, **kw: calls["generate"].append(kw))
    monkeypatch.setattr(tasks.model_config_check_task, "apply_async", lambda *a, **kw: calls["check"].append(kw))
    return calls


def make_config(project, **data):
    return generation_services.model_config_create(
        project=project, data={"name": "Local", "base_url": BASE_URL, "model": "m", **data}
    )


@pytest.fixture
def gen(site, staff, sent):
    """`site` (3 prompts with 2 imported candidates each) plus a config with an API key, a batch
    of 3 jobs (one done with a candidate, one failed, one queued)."""
    project = site["project"]
    config = make_config(project, api_key=SECRET, candidates_per_prompt=2)
    batch = generation_services.generation_batch_create(project=project, user=staff, config=config, fewer_than=3)
    jobs = list(batch.jobs.order_by("id"))
    assert len(jobs) == 3
    done, failed, _queued = jobs
    GenerationJob.objects.filter(pk=done.pk).update(status=JobStatus.DONE)
    GenerationJob.objects.filter(pk=failed.pk).update(status=JobStatus.FAILED, error="Server said <b>no</b>")
    Candidate.objects.create(
        prompt=done.prompt,
        content="A **generated** answer",
        source=CandidateSource.GENERATED,
        model_name="m-reported",
        generation_job=done,
        model_config=config,
        finish_reason="stop",
        prompt_tokens=11,
        completion_tokens=7,
        latency_ms=123,
    )
    batch.jobs.update(dispatched_at=timezone.now())  # as if sent to the broker
    done.refresh_from_db()
    failed.refresh_from_db()
    return {**site, "config": config, "batch": batch, "done": done, "failed": failed}


def url(gen, name, **kwargs):
    resolved = {"project_id": gen["project"].pk}
    for key, value in kwargs.items():
        resolved[key] = gen[value].pk if isinstance(value, str) else value
    return reverse(f"projects:generation:{name}", kwargs=resolved)


# Role matrix -------------------------------------------------------------------------------------

PAGES = [
    ("models", {}, Capability.SEE_PROVENANCE),
    ("model-create", {}, Capability.MANAGE),
    ("model-edit", {"config_id": "config"}, Capability.MANAGE),
    ("batches", {}, Capability.SEE_PROVENANCE),
    ("batch-start", {}, Capability.MANAGE),
    ("batch", {"batch_id": "batch"}, Capability.SEE_PROVENANCE),
]
PAGE_IDS = [name for name, _, _ in PAGES]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "kwargs", "capability"), PAGES, ids=PAGE_IDS)
def test_pages_by_role(gen, client_for, role, name, kwargs, capability):
    response = client_for(gen["members"][role]).get(url(gen, name, **kwargs))
    assert response.status_code == (200 if role_can(role, capability) else 403)


@pytest.mark.parametrize(("name", "kwargs", "capability"), PAGES, ids=PAGE_IDS)
def test_pages_are_404_for_non_members(gen, client_for, name, kwargs, capability):
    response = client_for(gen["members"]["outsider"]).get(url(gen, name, **kwargs))
    assert response.status_code == 404
    assert gen["project"].name not in response.content.decode()


@pytest.mark.parametrize(("name", "kwargs", "capability"), PAGES, ids=PAGE_IDS)
def test_pages_send_anonymous_visitors_to_login(gen, client_for, name, kwargs, capability):
    target = url(gen, name, **kwargs)
    response = client_for(None).get(target)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={target}"


def test_config_row_partial_is_for_provenance_viewers(gen, client_for):
    target = url(gen, "model", config_id="config")
    for role in ROLES:
        response = client_for(gen["members"][role]).get(target, headers=HTMX)
        if not role_can(role, Capability.SEE_PROVENANCE):
            assert response.status_code == 403
            assert "Local" not in response.content.decode() and BASE_URL not in response.content.decode()
            continue
        assert response.status_code == 200
        assert response.content.decode().lstrip().startswith(f'<tr id="config-{gen["config"].pk}"')
    assert client_for(gen["members"]["outsider"]).get(target, headers=HTMX).status_code == 404
    # Without htmx: the models page, at the row.
    response = client_for(gen["members"][Role.ENGINEER]).get(target)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/generation/models/#config-{gen['config'].pk}")


ACTIONS = [
    ("model-create", {}, "new-config"),
    ("model-edit", {"config_id": "config"}, "renamed-config"),
    ("model-test", {"config_id": "config"}, {}),
    ("model-active", {"config_id": "config"}, {"active": "0"}),
    ("model-delete", {"config_id": "config"}, {}),
    ("batch-start", {}, {"model_config": "config", "fewer_than": "4"}),
    ("batch-retry-failed", {"batch_id": "batch"}, {}),
    ("job-retry", {"job_id": "failed"}, {}),
]
ACTION_IDS = [name for name, _, _ in ACTIONS]


def _form_data(gen, data):
    if data == "new-config":
        return _config_post(name="New")
    if data == "renamed-config":
        return _config_post(name="Renamed")
    return {k: (gen[v].pk if v in ("config",) else v) for k, v in data.items()}


@pytest.mark.parametrize(("name", "kwargs", "data"), ACTIONS, ids=ACTION_IDS)
def test_admin_actions_are_403_for_other_roles_404_for_outsiders(gen, client_for, name, kwargs, data):
    target = url(gen, name, **kwargs)
    before = (ModelConfig.objects.count(), GenerationBatch.objects.count(), gen["failed"].status)
    for role in (Role.LABELER, Role.REVIEWER, Role.ENGINEER):
        assert client_for(gen["members"][role]).post(target, _form_data(gen, data)).status_code == 403
    assert client_for(gen["members"]["outsider"]).post(target, _form_data(gen, data)).status_code == 404
    anonymous = client_for(None).post(target, _form_data(gen, data))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    gen["failed"].refresh_from_db()
    gen["config"].refresh_from_db()
    assert (ModelConfig.objects.count(), GenerationBatch.objects.count(), gen["failed"].status) == before
    assert gen["config"].name == "Local" and gen["config"].is_active
    assert gen["config"].last_check_status == CheckStatus.NEVER


@pytest.mark.parametrize(("name", "kwargs", "data"), ACTIONS, ids=ACTION_IDS)
def test_admin_actions_succeed_for_admins(gen, client_for, name, kwargs, data, django_capture_on_commit_callbacks):
    client = client_for(gen["members"][Role.ADMIN])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(gen, name, **kwargs), _form_data(gen, data))
    assert response.status_code == 302, response.content.decode()[:2000]


def test_get_is_not_allowed_on_actions(gen, client_for, staff):
    for name, kwargs, _ in ACTIONS:
        if name in ("model-create", "model-edit", "batch-start"):
            continue
        assert client_for(staff).get(url(gen, name, **kwargs)).status_code == 405


def test_objects_of_another_project_are_404(gen, client_for, staff, make_project, import_prompts):
    other = make_project("Other")
    import_prompts(other, [{"prompt": "Elsewhere"}])
    config = make_config(other)
    batch = generation_services.generation_batch_create(project=other, user=staff, config=config, fewer_than=1)
    job = batch.jobs.get()
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    client = client_for(staff)  # admin of both projects
    mine = gen["project"].pk
    for name, kwargs in [
        ("model-edit", {"config_id": config.pk}),
        ("batch", {"batch_id": batch.pk}),
    ]:
        target = reverse(f"projects:generation:{name}", kwargs={"project_id": mine, **kwargs})
        assert client.get(target).status_code == 404
    for name, kwargs in [
        ("model-test", {"config_id": config.pk}),
        ("model-delete", {"config_id": config.pk}),
        ("batch-retry-failed", {"batch_id": batch.pk}),
        ("job-retry", {"job_id": job.pk}),
    ]:
        target = reverse(f"projects:generation:{name}", kwargs={"project_id": mine, **kwargs})
        assert client.post(target).status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert ModelConfig.objects.filter(pk=config.pk).exists()
    # Unknown ids
    assert client.get(url(gen, "batch", batch_id=999999)).status_code == 404
    assert client.get(url(gen, "model-edit", config_id=999999)).status_code == 404


def test_top_level_batch_url_redirects_provenance_viewers_only(gen, client_for):
    target = reverse("projects:generation-batch", args=[gen["batch"].pk])
    response = client_for(gen["members"][Role.ENGINEER]).get(target)
    assert response.status_code == 302
    assert response["Location"] == url(gen, "batch", batch_id="batch")
    for role in (Role.LABELER, Role.REVIEWER):
        refused = client_for(gen["members"][role]).get(target)
        assert refused.status_code == 403 and "Local" not in refused.content.decode()
    assert client_for(gen["members"]["outsider"]).get(target).status_code == 404
    unknown = reverse("projects:generation-batch", args=[999999])
    assert client_for(gen["members"][Role.ENGINEER]).get(unknown).status_code == 404
    assert client_for(gen["members"][Role.LABELER]).get(unknown).status_code == 404
    anonymous = client_for(None).get(target)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


def test_project_nav_links(gen, client_for):
    html = client_for(gen["members"][Role.ENGINEER]).get(url(gen, "models")).content.decode()
    assert f'href="{url(gen, "models")}" aria-current="page">Models</a>' in html
    assert f'href="{url(gen, "batches")}">Generation</a>' in html
    # Labelers and reviewers have no link to pages they may not open.
    for role in (Role.LABELER, Role.REVIEWER):
        html = client_for(gen["members"][role]).get(reverse("projects:detail", args=[gen["project"].pk])).content
        assert url(gen, "models").encode() not in html and url(gen, "batches").encode() not in html


# Model configs -----------------------------------------------------------------------------------


def test_models_page_shows_configs_read_only_for_non_admins(gen, client_for):
    config = gen["config"]
    ModelConfig.objects.filter(pk=config.pk).update(
        stop=["###", "\n\nUser:"], seed=42, system_prompt="Be <b>brief</b>."
    )
    html = client_for(gen["members"][Role.ENGINEER]).get(url(gen, "models")).content.decode()
    assert "Local" in html and BASE_URL in html and ">m<" in html
    assert "<dd>42</dd>" in html and "\\n\\nUser:" in html
    assert "Be &lt;b&gt;brief&lt;/b&gt;." in html
    assert "Never checked" in html and "key set" in html
    assert "Test connection" not in html and "Add model config" not in html and "Deactivate" not in html
    admin_html = client_for(gen["members"][Role.ADMIN]).get(url(gen, "models")).content.decode()
    assert "Test connection" in admin_html and 'id="add-config"' in admin_html and "Deactivate" in admin_html
    assert 'type="password"' in admin_html and 'autocomplete="new-password"' in admin_html


def test_api_key_never_appears_in_any_page(gen, client_for, staff):
    client = client_for(gen["members"][Role.ADMIN])
    config = gen["config"]
    pages = [
        client.get(url(gen, "models")),
        client.get(url(gen, "model-edit", config_id="config")),
        client.get(url(gen, "model", config_id="config"), headers=HTMX),
        client.get(url(gen, "batch", batch_id="batch")),
        client.get(url(gen, "batches")),
        client.get(url(gen, "batch-start")),
        client.get(reverse("projects:prompts:list", args=[gen["project"].pk])),
        client.get(reverse("projects:prompts:detail", args=[gen["project"].pk, gen["prompt"].pk])),
        client.post(url(gen, "model-test", config_id="config"), headers=HTMX),
    ]
    # A failed edit with a new key typed in: the form comes back without echoing it.
    failed_edit = client.post(
        url(gen, "model-edit", config_id="config"),
        {"name": "Local", "base_url": BASE_URL, "model": "m", "api_key": "sk-OTHER-456", "temperature": "9",
         "top_p": "1", "max_tokens": "10", "candidates_per_prompt": "2"},
    )  # fmt: skip
    assert failed_edit.status_code == 400
    pages.append(failed_edit)
    failed_create = client.post(
        url(gen, "model-create"), {"name": "", "base_url": BASE_URL, "model": "m", "api_key": "sk-NEW-789"}
    )
    assert failed_create.status_code == 400
    pages.append(failed_create)
    for response in pages:
        html = response.content.decode()
        assert SECRET not in html and "sk-OTHER-456" not in html and "sk-NEW-789" not in html
    edit_html = pages[1].content.decode()
    assert "A key is set" in edit_html and 'name="clear_api_key"' in edit_html
    config.refresh_from_db()
    assert config.api_key == SECRET


def _config_post(**overrides):
    data = {
        "name": "Llama",
        "base_url": BASE_URL,
        "model": "meta/llama",
        "api_key": "",
        "temperature": "0.5",
        "top_p": "0.9",
        "max_tokens": "300",
        "seed": "",
        "stop": "###, User:",
        "system_prompt": "Be brief.",
        "candidates_per_prompt": "3",
        "is_active": "on",
    }
    return {**data, **overrides}


def test_add_config_through_the_page(gen, client_for):
    client = client_for(gen["members"][Role.ADMIN])
    response = client.post(url(gen, "model-create"), _config_post())
    config = ModelConfig.objects.get(name="Llama")
    assert response.status_code == 302
    assert response["Location"] == f"{url(gen, 'models')}#config-{config.pk}"
    assert (config.model, config.temperature, config.top_p, config.max_tokens) == ("meta/llama", 0.5, 0.9, 300)
    assert config.stop == ["###", "User:"] and config.seed is None and config.api_key == ""
    assert config.candidates_per_prompt == 3 and config.is_active and config.system_prompt == "Be brief."
    html = client.get(response["Location"]).content.decode()
    assert "Model config “Llama” added." in html


def test_add_config_errors_come_back_on_the_form(gen, client_for):
    client = client_for(gen["members"][Role.ADMIN])
    # The service's SSRF guard: a private address is refused, on the field.
    response = client.post(url(gen, "model-create"), _config_post(base_url="http://10.1.2.3:8000/v1"))
    assert response.status_code == 400
    assert "internal address" in response.content.decode()
    assert response.context["form"].errors["base_url"]
    # A duplicate name: the service's Conflict.
    response = client.post(url(gen, "model-create"), _config_post(name="Local"))
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    # Form validation: too many stop sequences, bad ranges.
    response = client.post(url(gen, "model-create"), _config_post(stop="a\nb\nc\nd\ne", temperature="3", top_p="0"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "stop" in errors and "temperature" in errors
    response = client.post(url(gen, "model-create"), _config_post(top_p="0"))
    assert response.status_code == 400 and "top_p" in response.context["form"].errors
    assert not ModelConfig.objects.filter(name="Llama").exists()


def test_edit_keeps_replaces_or_clears_the_key(gen, client_for):
    client = client_for(gen["members"][Role.ADMIN])
    config = gen["config"]
    target = url(gen, "model-edit", config_id="config")
    initial = client.get(target).context["form"].initial
    assert "api_key" not in initial and initial["name"] == "Local"
    assert client.post(target, _config_post(name="Local 2")).status_code == 302
    config.refresh_from_db()
    assert config.name == "Local 2" and config.api_key == SECRET  # blank keeps the key
    assert client.post(target, _config_post(name="Local 2", api_key="sk-new")).status_code == 302
    config.refresh_from_db()
    assert config.api_key == "sk-new"
    both = client.post(target, _config_post(name="Local 2", api_key="sk-x", clear_api_key="on"))
    assert both.status_code == 400 and "not both" in both.content.decode()
    assert client.post(target, _config_post(name="Local 2", clear_api_key="on")).status_code == 302
    config.refresh_from_db()
    assert config.api_key == ""
    assert "No key set" in client.get(target).content.decode()


def test_edit_shows_stop_sequences_as_typed(gen, client_for):
    ModelConfig.objects.filter(pk=gen["config"].pk).update(stop=["\n\n", "a,b"])
    form = client_for(gen["members"][Role.ADMIN]).get(url(gen, "model-edit", config_id="config")).context["form"]
    assert form.initial["stop"] == "\\n\\n\na,b"
    assert parse_stop(form.initial["stop"]) == ["\n\n", "a,b"]


def test_stop_parsing():
    assert parse_stop("") == [] and parse_stop(" \n ") == []
    assert parse_stop("###, User:") == ["###", "User:"]
    assert parse_stop("a, b\nc") == ["a, b", "c"]
    assert parse_stop("\\n\\n") == ["\n\n"]
    assert format_stop(["x", "y"]) == "x, y"


def test_test_connection_polls_until_the_check_finishes(gen, client_for, sent, django_capture_on_commit_callbacks):
    client = client_for(gen["members"][Role.ADMIN])
    config = gen["config"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(gen, "model-test", config_id="config"), headers=HTMX)
    assert sent["check"] == [{"kwargs": {"config_id": config.pk}}]  # the `fast` queue, by CELERY_TASK_ROUTES
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(f'<tr id="config-{config.pk}"')
    assert 'hx-trigger="every 1s"' in html and "Checking" in html
    row = url(gen, "model", config_id="config")
    assert f'hx-get="{row}"' in html
    assert 'hx-trigger="every 1s"' in client.get(row, headers=HTMX).content.decode()
    ModelConfig.objects.filter(pk=config.pk).update(
        last_check_status=CheckStatus.OK, last_check_latency_ms=87, last_check_model="served-model"
    )
    html = client.get(row, headers=HTMX).content.decode()
    assert "hx-trigger" not in html and "hx-get" not in html.split(">")[0]
    assert "87 ms" in html and "served-model" in html and "Connected" in html
    ModelConfig.objects.filter(pk=config.pk).update(
        last_check_status=CheckStatus.FAILED,
        last_check_error={"kind": "unsafe_url", "reason": "<script>alert(1)</script> refused"},
    )
    html = client.get(row, headers=HTMX).content.decode()
    assert "hx-trigger" not in html and "Failed" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; refused" in html
    ModelConfig.objects.filter(pk=config.pk).update(last_check_error={"kind": "http_status", "status": 502})
    assert "HTTP 502 (Bad Gateway)" in client.get(row, headers=HTMX).content.decode()


def test_test_connection_without_htmx_redirects(gen, client_for, sent, django_capture_on_commit_callbacks):
    client = client_for(gen["members"][Role.ADMIN])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(gen, "model-test", config_id="config"))
    assert response.status_code == 302 and len(sent["check"]) == 1
    assert "Checking the connection" in client.get(response["Location"]).content.decode()


def test_deactivate_activate_and_delete(gen, client_for):
    client = client_for(gen["members"][Role.ADMIN])
    config = gen["config"]
    assert client.post(url(gen, "model-active", config_id="config"), {"active": "0"}).status_code == 302
    config.refresh_from_db()
    assert not config.is_active
    assert "Inactive" in client.get(url(gen, "models")).content.decode()
    assert client.post(url(gen, "model-active", config_id="config"), {"active": "1"}).status_code == 302
    config.refresh_from_db()
    assert config.is_active
    # Used by a batch: deleting deactivates.
    response = client.post(url(gen, "model-delete", config_id="config"), follow=True)
    config.refresh_from_db()
    assert not config.is_active and "deactivated instead" in response.content.decode()
    # Unused: deleted.
    unused = make_config(gen["project"], name="Unused")
    response = client.post(url(gen, "model-delete", config_id=unused.pk), follow=True)
    assert not ModelConfig.objects.filter(pk=unused.pk).exists()
    assert "Model config “Unused” deleted." in response.content.decode()
    assert 'data-confirm="Delete' in response.content.decode()


# Starting batches --------------------------------------------------------------------------------


def test_start_a_batch_from_the_prompt_list(gen, client_for, sent, django_capture_on_commit_callbacks):
    client = client_for(gen["members"][Role.ADMIN])
    project = gen["project"]
    html = client.get(reverse("projects:prompts:list", args=[project.pk])).content.decode()
    assert "Generate candidates" in html
    assert f'action="{url(gen, "batch-start")}"' in html
    assert f'<option value="{gen["config"].pk}">Local (m)</option>' in html
    assert f'name="fewer_than" min="1" max="9" value="{project.candidates_per_prompt}"' in html
    before = GenerationJob.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(gen, "batch-start"), {"model_config": gen["config"].pk, "fewer_than": "4"})
    batch = GenerationBatch.objects.latest("id")
    assert response.status_code == 302
    assert response["Location"] == url(gen, "batch", batch_id=batch.pk)
    # 3 prompts with 2 imported candidates each; the first batch already counts 1 (done) + 1
    # (queued) for two of them, the failed one counts nothing: 4-3 + 4-2 + 4-3... per prompt.
    assert batch.job_count == GenerationJob.objects.count() - before > 0
    assert batch.mode == "fewer_than" and batch.target_k == 4 and batch.created_by == gen["members"][Role.ADMIN]
    assert len(sent["generate"]) == batch.job_count
    assert all("queue" not in c for c in sent["generate"])  # the `inference` queue, by CELERY_TASK_ROUTES
    page = client.get(response["Location"]).content.decode()
    assert f"Batch #{batch.pk} started" in page


def test_start_a_batch_from_a_prompt_page(gen, client_for, sent, django_capture_on_commit_callbacks):
    client = client_for(gen["members"][Role.ADMIN])
    prompt = gen["prompt"]
    html = client.get(reverse("projects:prompts:detail", args=[gen["project"].pk, prompt.pk])).content.decode()
    assert "Generate 2 candidates with Local" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(gen, "batch-start"), {"model_config": gen["config"].pk, "prompt": prompt.pk})
    batch = GenerationBatch.objects.latest("id")
    assert response.status_code == 302 and response["Location"] == url(gen, "batch", batch_id=batch.pk)
    assert list(batch.jobs.values_list("prompt_id", flat=True)) == [prompt.pk, prompt.pk]
    assert batch.mode == "prompts" and len(sent["generate"]) == 2


def test_other_roles_see_no_generate_forms(gen, client_for):
    client = client_for(gen["members"][Role.ENGINEER])
    project = gen["project"]
    for target in (
        reverse("projects:prompts:list", args=[project.pk]),
        reverse("projects:prompts:detail", args=[project.pk, gen["prompt"].pk]),
        url(gen, "batches"),
    ):
        html = client.get(target).content.decode()
        assert url(gen, "batch-start") not in html
        assert "Generate candidates" not in html and "Generate 2 candidates" not in html


def test_prompt_pages_without_active_configs_point_to_the_models_page(gen, client_for):
    ModelConfig.objects.update(is_active=False)
    client = client_for(gen["members"][Role.ADMIN])
    project = gen["project"]
    for target in (
        reverse("projects:prompts:list", args=[project.pk]),
        reverse("projects:prompts:detail", args=[project.pk, gen["prompt"].pk]),
    ):
        html = client.get(target).content.decode()
        assert "No active model config" in html and f"{url(gen, 'models')}#add-config" in html
    assert "There is no active model config" in client.get(url(gen, "batch-start")).content.decode()


def test_nothing_to_generate_is_a_form_error(gen, client_for, sent):
    client = client_for(gen["members"][Role.ADMIN])
    response = client.post(url(gen, "batch-start"), {"model_config": gen["config"].pk, "fewer_than": "1"})
    assert response.status_code == 400
    assert "Nothing to generate" in response.content.decode()
    for bad in ({"model_config": gen["config"].pk, "fewer_than": "12"}, {"model_config": "999", "fewer_than": "2"},
                {"model_config": gen["config"].pk}, {}):  # fmt: skip
        assert client.post(url(gen, "batch-start"), bad).status_code == 400
    assert GenerationBatch.objects.count() == 1 and sent["generate"] == []


def test_errors_from_a_prompt_page_go_back_there(gen, client_for, sent):
    client = client_for(gen["members"][Role.ADMIN])
    ModelConfig.objects.filter(pk=gen["config"].pk).update(is_active=False)
    prompt = gen["prompt"]
    response = client.post(url(gen, "batch-start"), {"model_config": gen["config"].pk, "prompt": prompt.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:prompts:detail", args=[gen["project"].pk, prompt.pk])
    assert "valid choice" in client.get(response["Location"]).content.decode()
    assert GenerationBatch.objects.count() == 1


# Batch page --------------------------------------------------------------------------------------


def test_batch_page_shows_progress_failed_jobs_and_candidates(gen, client_for):
    html = client_for(gen["members"][Role.ENGINEER]).get(url(gen, "batch", batch_id="batch")).content.decode()
    assert "Batch #" in html and "Local" in html and "fewer than 3 candidates" in html.replace("Every prompt", "")
    assert '<progress id="batch-progress-bar" max="100" value="66">' in html
    assert "<dt>Queued</dt><dd>1</dd>" in html and "<dt>Done</dt><dd>1</dd>" in html
    assert "<dt>Failed</dt><dd>1</dd>" in html
    assert "Server said &lt;b&gt;no&lt;/b&gt;" in html  # the job error, escaped
    assert "<strong>generated</strong>" in html  # candidate Markdown
    assert "11 prompt + 7 completion tokens" in html and "123 ms" in html and ">stop<" in html
    assert "Retry all failed" not in html and 'aria-label="Retry job' not in html  # an engineer cannot retry
    admin_html = client_for(gen["members"][Role.ADMIN]).get(url(gen, "batch", batch_id="batch")).content.decode()
    assert "Retry all failed" in admin_html
    assert url(gen, "job-retry", job_id="failed") in admin_html


def test_batch_progress_polls_while_running_and_stops_when_finished(gen, client_for):
    client = client_for(gen["members"][Role.ENGINEER])
    target = url(gen, "batch", batch_id="batch")
    html = client.get(target).content.decode()
    assert 'hx-trigger="every 2s"' in html and f'hx-get="{target}?poll=1"' in html and 'hx-swap="outerHTML"' in html
    GenerationJob.objects.filter(batch=gen["batch"], status=JobStatus.QUEUED).update(status=JobStatus.RUNNING)
    partial = client.get(target, {"poll": "1"}, headers=HTMX)
    assert 'hx-trigger="every 2s"' in partial.content.decode() and "HX-Refresh" not in partial
    GenerationJob.objects.filter(batch=gen["batch"], status=JobStatus.RUNNING).update(status=JobStatus.DONE)
    html = client.get(target).content.decode()
    assert "hx-trigger" not in html and "?poll=1" not in html
    assert "Finished, 1 failed" in html
    partial = client.get(target, {"poll": "1"}, headers=HTMX)
    body = partial.content.decode()
    assert "hx-trigger" not in body and "hx-get" not in body
    assert partial["HX-Refresh"] == "true"  # the last poll reloads the page once, to show the results
    GenerationJob.objects.filter(batch=gen["batch"], status=JobStatus.FAILED).update(status=JobStatus.DONE)
    assert '<span class="badge badge-done">Done</span>' in client.get(target).content.decode()


def test_batch_htmx_request_returns_the_progress_partial_only(gen, client_for):
    client = client_for(gen["members"][Role.ENGINEER])
    response = client.get(url(gen, "batch", batch_id="batch"), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert html.lstrip().startswith('<section id="batch-progress"')
    assert "<html" not in html and "Candidates" not in html and "Failed jobs" not in html
    full = client.get(url(gen, "batch", batch_id="batch")).content.decode()
    assert "<html" in full and 'id="batch-progress"' in full and "Candidates" in full


def test_model_output_is_rendered_inert(gen, client_for):
    job = gen["done"]
    Candidate.objects.filter(generation_job=job).update(
        content="<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))",
        finish_reason="<b>len</b>",
        model_name="<i>m</i>",
    )
    html = client_for(gen["members"][Role.ENGINEER]).get(url(gen, "batch", batch_id="batch")).content.decode()
    assert "<script>alert(1)" not in html
    assert "<img" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert "&lt;b&gt;len&lt;/b&gt;" in html and "&lt;i&gt;m&lt;/i&gt;" in html


def test_batch_candidates_are_paged(gen, client_for, monkeypatch):
    from labelhub.generation import views

    monkeypatch.setattr(views, "CANDIDATES_PER_PAGE", 1)
    queued = GenerationJob.objects.get(batch=gen["batch"], status=JobStatus.QUEUED)
    GenerationJob.objects.filter(pk=queued.pk).update(status=JobStatus.DONE)
    Candidate.objects.create(
        prompt=queued.prompt, content="Second answer", source=CandidateSource.GENERATED, generation_job=queued
    )
    client = client_for(gen["members"][Role.ENGINEER])
    page1 = client.get(url(gen, "batch", batch_id="batch"))
    assert "A <strong>generated</strong> answer" in page1.content.decode()
    assert "Second answer" not in page1.content.decode()
    after = page1.context["next_after"]
    page2 = client.get(url(gen, "batch", batch_id="batch"), {"after": after}).content.decode()
    assert "Second answer" in page2 and "generated</strong>" not in page2
    assert client.get(url(gen, "batch", batch_id="batch"), {"after": "x"}).status_code == 404


def test_retry_one_failed_job(gen, client_for, sent, django_capture_on_commit_callbacks):
    client = client_for(gen["members"][Role.ADMIN])
    failed = gen["failed"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(gen, "job-retry", job_id="failed"))
    assert response.status_code == 302 and response["Location"] == url(gen, "batch", batch_id="batch")
    failed.refresh_from_db()
    assert failed.status == JobStatus.QUEUED and failed.error == ""
    assert [c["kwargs"] for c in sent["generate"]] == [{"job_id": failed.pk}]
    assert f"Job #{failed.pk} sent again." in client.get(response["Location"]).content.decode()
    # Retrying a job that is not failed is a message, not an error page.
    response = client.post(url(gen, "job-retry", job_id="failed"), follow=True)
    assert response.status_code == 200 and "Only failed jobs can be retried." in response.content.decode()


def test_retry_all_failed(gen, client_for, sent, django_capture_on_commit_callbacks):
    client = client_for(gen["members"][Role.ADMIN])
    done = gen["done"]
    GenerationJob.objects.filter(pk=done.pk).update(status=JobStatus.FAILED)  # two failed now
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(gen, "batch-retry-failed", batch_id="batch"), follow=True)
    assert "2 failed jobs sent again." in response.content.decode()
    assert not GenerationJob.objects.filter(batch=gen["batch"], status=JobStatus.FAILED).exists()
    assert GenerationJob.objects.filter(batch=gen["batch"], status=JobStatus.QUEUED).count() == 3
    assert len(sent["generate"]) == 2
    response = client.post(url(gen, "batch-retry-failed", batch_id="batch"), follow=True)
    assert "No failed jobs to retry." in response.content.decode()


def test_batch_page_query_count_does_not_grow_with_candidates(gen, client_for, django_assert_max_num_queries):
    client = client_for(gen["members"][Role.ENGINEER])
    target = url(gen, "batch", batch_id="batch")
    with CaptureQueriesContext(connection) as few:
        client.get(target)
    for job in GenerationJob.objects.filter(batch=gen["batch"]).exclude(pk=gen["done"].pk):
        GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, error="")
        Candidate.objects.create(
            prompt=job.prompt, content="more", source=CandidateSource.GENERATED, generation_job=job
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(target)


# Batch list --------------------------------------------------------------------------------------


def test_batch_list_shows_progress_and_polls_while_running(gen, client_for):
    client = client_for(gen["members"][Role.ENGINEER])
    target = url(gen, "batches")
    html = client.get(target).content.decode()
    assert url(gen, "batch", batch_id="batch") in html and "Local" in html and "1 / 3" in html
    assert 'hx-trigger="every 2s"' in html
    partial = client.get(target, headers=HTMX).content.decode()
    assert partial.lstrip().startswith('<section id="batch-table"') and "<html" not in partial
    GenerationJob.objects.filter(batch=gen["batch"], status=JobStatus.QUEUED).update(status=JobStatus.DONE)
    html = client.get(target).content.decode()
    assert "hx-trigger" not in html and "Finished, 1 failed" in html


def test_batch_list_empty(site, client_for):
    html = (
        client_for(site["members"][Role.ADMIN])
        .get(reverse("projects:generation:batches", args=[site["project"].pk]))
        .content.decode()
    )
    assert "No batches yet." in html and "hx-trigger" not in html


def test_duration_filter():
    assert duration(None) == "" and duration(0) == "0 s" and duration(42) == "42 s"
    assert duration(150) == "2 min 30 s" and duration(600) == "10 min" and duration(4000) == "1 h 6 min"
    assert duration(7200) == "2 h" and duration(90000) == "1 d 1 h"


def test_a_check_nobody_answers_stops_polling(gen, client_for):
    ModelConfig.objects.filter(pk=gen["config"].pk).update(
        last_check_status=CheckStatus.RUNNING, last_check_at=timezone.now() - timedelta(minutes=5)
    )
    html = client_for(gen["members"][Role.ADMIN]).get(url(gen, "models")).content.decode()
    assert "hx-trigger" not in html and "No worker has answered yet" in html
    assert "Test connection</button>" in html and " disabled>Test connection" not in html
