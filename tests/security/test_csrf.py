"""CSRF: with a session cookie, every unsafe request needs the CSRF token — web forms, htmx requests
and the session-authenticated API alike (403, nothing written). A token-authenticated API call is
not a browser's ambient credential and needs none.

The unsafe requests are the sweep table's (tests/security/access_routes.py: every route with an id
and every method it answers), sent by the member of the project for whom they are legitimate, plus
the unsafe routes without ids. With the token, the same requests get past the check (control)."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from labelhub.projects.models import Role

from .access_fixtures import _no_broker, session_client, token_client, two_projects  # noqa: F401
from .access_routes import CASES, Ctx
from .access_world import fingerprint
from .test_idor import id_routes, request, rolled_back, url_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _unsafe(routes):
    for route in routes:
        case = CASES[route.name]
        for method in case.methods:
            if method != "get":
                yield route, case, method


def _with_token(client):
    """Fetch a page to get the CSRF cookie, and send its value in the header as htmx does."""
    client.get(reverse("profile"))
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client


def _sessions(a, *, api: bool, csrf_token: bool, htmx: bool) -> dict:
    """A logged-in client per member of `a`, checking CSRF like a browser request would be."""

    def make(key):
        client = APIClient(enforce_csrf_checks=True) if api else Client(enforce_csrf_checks=True)
        client.force_login(a.users[key])
        if htmx:
            client.defaults["HTTP_HX_REQUEST"] = "true"
        return _with_token(client) if csrf_token else client

    return {key: make(key) for key in a.users}


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize("api", [False, True], ids=["web", "api"])
def test_session_requests_without_the_csrf_token_are_refused(two_projects, htmx, api):
    a, _b = two_projects
    clients = _sessions(a, api=api, csrf_token=False, htmx=htmx)
    routes = [r for r in id_routes() if r.is_api == api]
    failures, sent = [], 0
    state = fingerprint()
    for route, case, method in _unsafe(routes):
        url = url_for(route, case, a, a)
        response = request(clients[case.control], route, case, method, url, Ctx(a=a, attacker=a.users[case.control]))
        sent += 1
        if response.status_code != 403:
            failures.append(f"{method.upper()} {url}: {response.status_code}")
        elif api:
            assert response.json()["message"].startswith("CSRF Failed"), url
        if (now := fingerprint()) != state:
            failures.append(f"{method.upper()} {url}: refused, but something changed")
            state = now
    assert sent >= 25
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("api", [False, True], ids=["web", "api"])
def test_with_the_csrf_token_the_same_requests_pass_the_check(two_projects, api):
    """Control: the refusals above are the CSRF check, not something else."""
    a, _b = two_projects
    clients = _sessions(a, api=api, csrf_token=True, htmx=True)
    failures = []
    for route, case, method in _unsafe([r for r in id_routes() if r.is_api == api]):
        url = url_for(route, case, a, a)
        with rolled_back():
            response = request(clients[case.control], route, case, method, url, Ctx(a, a.users[case.control]))
        if response.status_code == 403 or response.status_code >= 500:
            failures.append(f"{method.upper()} {url}: {response.status_code} {response.content[:120]!r}")
    assert not failures, "\n".join(failures)


def test_unsafe_routes_without_ids_need_the_token(two_projects, session_client, staff):
    a, _b = two_projects
    before = fingerprint()
    cases = [
        (staff, reverse("projects:create"), {"name": "Planted", "tracks": ["helpful"]}),
        (a.users[Role.LABELER], reverse("profile"), {"name": "planted token"}),
        (a.users[Role.LABELER], reverse("password-change"), {"old_password": "x", "new_password1": "y" * 12}),
        (a.users[Role.LABELER], reverse("logout"), {}),
        (None, reverse("login"), {"username": a.users[Role.LABELER].username, "password": "x"}),
        (None, "/admin/login/", {"username": staff.username, "password": "x"}),
    ]
    for user, url, data in cases:
        for headers in ({}, HTMX):
            response = session_client(user, enforce_csrf_checks=True, headers=headers).post(url, data)
            assert response.status_code == 403, (url, response.status_code)
    assert fingerprint() == before
    # Logged out? No: the refused logout left the session alone.
    client = session_client(a.users[Role.LABELER], enforce_csrf_checks=True)
    client.post(reverse("logout"))
    assert client.get(reverse("profile")).status_code == 200


def test_a_foreign_origin_is_refused_even_with_the_token(two_projects, session_client):
    a, _b = two_projects
    client = _with_token(session_client(a.users[Role.ADMIN], enforce_csrf_checks=True))
    before = fingerprint()
    url = f"/api/v1/projects/{a.project.pk}/guidelines/draft"
    response = client.put(
        url, {"content": "x"}, content_type="application/json", headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    response = client.post(
        reverse("projects:members", args=[a.project.pk]),
        {"username": a.users[Role.LABELER].username, "role": "admin"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert fingerprint() == before


def test_token_authenticated_api_calls_need_no_csrf_token(two_projects, token_client):
    """A script with `Authorization: Token` is not a browser riding a cookie: no CSRF token needed."""
    a, _b = two_projects
    client = token_client(a.users[Role.ADMIN])
    client.handler.enforce_csrf_checks = True
    url = f"/api/v1/projects/{a.project.pk}/guidelines/draft"
    response = client.put(url, {"content": "# From a script"}, format="json")
    assert response.status_code == 200, response.content
    assert client.get(url).json()["content"] == "# From a script"
    response = client.post(f"/api/v1/projects/{a.project.pk}/snapshots", {"kind": "sft"}, format="json")
    assert response.status_code == 202
