"""A database outage is a 503 with Retry-After wherever it surfaces: views, DRF views, middleware."""

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from labelhub.projects import decorators as project_decorators
from labelhub.prompts import apis as prompt_apis


def _outage(*_args, **_kwargs):
    raise OperationalError("server closed the connection unexpectedly")


@pytest.mark.django_db
def test_api_view_outage_is_a_json_503(api, members, project, monkeypatch):
    client = api(members["admin"])
    monkeypatch.setattr(prompt_apis, "project_access", _outage)
    response = client.get(f"/api/v1/projects/{project.pk}/prompts")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "message": "The database is unavailable (restarting or unreachable). Try again in a few seconds.",
        "extra": {"retry_after": 5},
    }


@pytest.mark.django_db
def test_web_view_outage_is_a_503_page(client, staff, project, monkeypatch):
    client.force_login(staff)
    monkeypatch.setattr(project_decorators, "project_access", _outage)
    response = client.get(f"/projects/{project.pk}/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"Temporarily unavailable" in response.content and b"Traceback" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_outage_in_a_middleware_is_a_503_not_a_500(staff, settings, monkeypatch, error):
    """Sessions and authentication read the database before any view runs (handler500 path)."""
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    from django.contrib.sessions.backends import db as session_db

    def broken(*_args, **_kwargs):
        raise error("connection refused")

    monkeypatch.setattr(session_db.SessionStore, "load", broken)
    for url in ("/", "/api/v1/projects"):
        response = client.get(url)
        assert response.status_code == 503, (url, response.content[:200])
        assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_a_bug_is_still_a_500(staff, settings, monkeypatch):
    """Only connection-level errors are outages; a programming error stays a 500 (and is logged)."""
    from django.db import ProgrammingError

    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    from django.contrib.sessions.backends import db as session_db

    def bug(*_args, **_kwargs):
        raise ProgrammingError("relation does not exist")

    monkeypatch.setattr(session_db.SessionStore, "load", bug)
    assert client.get("/api/v1/projects").status_code == 500
