"""Fixtures of the access tests in tests/security (imported by the test modules, not a conftest, so
the XSS sweep in this package keeps its own): two populated projects, clients, no broker."""

import celery.app.task
import pytest
from django.test import Client

from .access_world import build_project


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch, settings):
    """Nothing leaves the process: tasks are recorded, not sent; the cache is local."""
    sent = []
    monkeypatch.setattr(celery.app.task.Task, "apply_async", lambda self, *a, **kw: sent.append((self.name, kw)))
    monkeypatch.setattr(celery.app.task.Task, "delay", lambda self, *a, **kw: sent.append((self.name, kw)))
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return sent


@pytest.fixture
def two_projects(staff):
    """(A, B): two Worlds (tests/security/access_world.py), both created by `staff`."""
    return build_project(staff, "A"), build_project(staff, "B")


@pytest.fixture
def token_client(api):
    """token_client(user): an API client with a real token of that user (tests/conftest.py's `api`)."""
    return api


@pytest.fixture
def session_client():
    def make(user=None, **kwargs):
        client = Client(**kwargs)
        if user is not None:
            client.force_login(user)
        return client

    return make
