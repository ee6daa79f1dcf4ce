import os

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from labelhub.accounts.services import api_token_create
from labelhub.projects import services as project_services
from labelhub.projects.models import Role

from .factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Hashing demo passwords with PBKDF2 would dominate the suite's run time.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The unreachable inference server the API and security tests configure (port 9, discard): an
# allowed loopback pair, as an operator would list it. The SSRF guard's own tests use other ports.
settings.INFERENCE_ALLOWED_HOSTS = [*settings.INFERENCE_ALLOWED_HOSTS, "127.0.0.1:9"]
# Tests render templates without running collectstatic first.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


@pytest.fixture
def client_for():
    """client_for(user) → a logged-in test client; client_for(None) → anonymous."""

    def make(user=None):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def fake_server(settings, monkeypatch):
    """A fake OpenAI-compatible server (tests/generation/fake_openai.py) that model configs may reach."""
    from .generation.fake_openai import FakeOpenAI, allow_inference_server

    server = FakeOpenAI().start()
    allow_inference_server(settings, monkeypatch, server.host_port)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def staff(db):
    return UserFactory(username="staff", is_staff=True)


ROLES = [Role.ADMIN, Role.LABELER, Role.REVIEWER, Role.ENGINEER]


@pytest.fixture
def make_project(staff):
    def make(name="Project", **kwargs):
        return project_services.project_create(user=staff, name=name, **kwargs)

    return make


@pytest.fixture
def project(make_project):
    return make_project("Alpha")


@pytest.fixture
def members(project):
    """One user per role in `project` (the project's creator `staff` is an admin too)."""
    users = {}
    for role in ROLES:
        user = UserFactory(username=f"{role}-user")
        project_services.membership_add(project=project, username=user.username, role=role)
        users[role] = user
    users["outsider"] = UserFactory(username="outsider")
    return users


@pytest.fixture
def api():
    """An API client factory: api(user) authenticates with a real hashed token; api(None) is anonymous."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            _token, key = api_token_create(user=user, name="test")
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def publish():
    def do(project, user, content, note="change"):
        return project_services.guideline_version_publish(project=project, user=user, change_note=note, content=content)

    return do


@pytest.fixture
def sent(monkeypatch):
    """Record what would go to the broker (generation jobs, connection checks) instead of sending it."""
    from labelhub.generation import tasks

    calls = []
    monkeypatch.setattr(tasks.generate_candidate_task, "apply_async", lambda **kw: calls.append(kw))
    monkeypatch.setattr(tasks.model_config_check_task, "apply_async", lambda **kw: calls.append(kw))
    return calls
