"""IDOR sweep: a member of project B (any role, admin included) cannot read or change any object of
project A, through A's URLs or through B's URLs carrying A's object ids, over the API (token) and
the web pages (session).

The routes come from the URL resolver (tests/security/access_routes.py): a route with an id that the
sweep table does not cover fails test_every_route_with_an_id_is_in_the_sweep. For each route the
sweep sends every method (GET, POST, PUT, PATCH, DELETE) with a body that would succeed if the
object were in reach, and checks: 404 (405 for a method the route does not take); the response
never contains A's secret text; nothing in the database or MEDIA_ROOT changed. A control run proves
the ids are real: the same requests by a member of A are not 404, and the methods the table lists
are exactly the ones the route answers."""

import io
import re
from contextlib import contextmanager

import pytest
from django.db import transaction
from django.urls import reverse

from labelhub.generation.models import GenerationBatch
from labelhub.labeling.models import Assignment, Label
from labelhub.quality.models import GoldStandard

from .access_fixtures import _no_broker, session_client, token_client, two_projects  # noqa: F401
from .access_routes import CASES, METHODS, Ctx, all_routes, skipped
from .access_world import fingerprint

pytestmark = pytest.mark.django_db

KWARG = re.compile(r"<(?:\w+:)?(\w+)>")
MISSING_ID = 987654321


def id_routes():
    return [r for r in all_routes() if r.has_id and not skipped(r)]


def _kwargs(route):
    return KWARG.findall(route.pattern)


def url_for(route, case, objects_world, project_world, *, missing=False):
    """The route's URL with the objects of `objects_world` under the project id of `project_world`
    (missing=True: a non-existent id for every object other than the project)."""
    kwargs = {}
    for kw in _kwargs(route):
        if kw == "project_id":
            kwargs[kw] = project_world.project.pk
        else:
            kwargs[kw] = MISSING_ID if missing else case.ids[kw](objects_world)
    return reverse(route.name, kwargs=kwargs) + case.query


def nested(route, case) -> bool:
    kws = _kwargs(route)
    return case.nested and "project_id" in kws and len(kws) > 1


def send(client, route, method, body):
    url = client._sweep_url
    if body is None:
        return getattr(client, method)(url)
    has_file = any(isinstance(v, io.IOBase) for v in body.values())
    if route.is_api:
        return getattr(client, method)(url, body, format="multipart" if has_file else "json")
    if method == "post":
        return client.post(url, body)
    return getattr(client, method)(url, body, content_type="application/x-www-form-urlencoded")


def request(client, route, case, method, url, ctx):
    client._sweep_url = url
    body_fn = case.methods.get(method)
    return send(client, route, method, body_fn(ctx) if body_fn else None)


def content(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back():
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def test_every_route_with_an_id_is_in_the_sweep():
    """New routes cannot escape the sweep: each route whose URL carries a project or object id is
    in the table (tests/security/access_routes.py) or in its commented skip list."""
    routes = all_routes()
    names = {r.name for r in routes}
    uncovered = [f"{r.pattern} ({r.name or 'unnamed'})" for r in id_routes() if r.name not in CASES]
    assert not uncovered, "Routes with an id missing from the IDOR sweep table:\n" + "\n".join(uncovered)
    stale = sorted(set(CASES) - names)
    assert not stale, f"Sweep entries for routes that no longer exist: {stale}"
    # For API views the table's methods are the ones the view implements (function views: the
    # control run below checks them against the live view).
    wrong = {
        r.name: (sorted(CASES[r.name].methods), sorted(r.view_methods))
        for r in id_routes()
        if r.view_methods is not None and set(CASES[r.name].methods) != r.view_methods
    }
    assert not wrong, f"Methods in the sweep table differ from the API views: {wrong}"
    assert len(id_routes()) == len(CASES) >= 90  # 46 API and 50 web routes today


# An admin of B holds every capability, so each request gets past B's role checks to the object lookup;
# a labeler of B (the fewest capabilities) checks that B's own role gate leaks nothing either. Reviewer
# and engineer capabilities are subsets of the admin's.
@pytest.mark.parametrize("role", ["admin", "labeler"])
def test_member_of_b_gets_404_on_every_object_of_a(two_projects, role, token_client, session_client):
    a, b = two_projects
    attacker = b.users[role]
    clients = {"api": token_client(attacker), "web": session_client(attacker)}
    ctx = Ctx(a=a, attacker=attacker)
    failures, sent = [], 0
    state = fingerprint()
    for route in id_routes():
        case = CASES[route.name]
        client = clients["api" if route.is_api else "web"]
        targets = [("A's URL", a)] + ([("B's URL with A's ids", b)] if nested(route, case) else [])
        for where, project_world in targets:
            url = url_for(route, case, a, project_world)
            for method in METHODS:
                response = request(client, route, case, method, url, ctx)
                body = content(response)
                sent += 1
                status = response.status_code
                declared = method in case.methods
                allowed = {404} if declared else {404, 405}
                if where != "A's URL" and role != "admin" and status not in allowed:
                    # B's own role check may answer first (403): fine if a missing id gets the same.
                    probe = request(client, route, case, method, url_for(route, case, a, b, missing=True), ctx)
                    if probe.status_code == status and status in (403, 405):
                        allowed = {status}
                if status not in allowed:
                    failures.append(f"{method.upper()} {url} [{where}]: {status} {body[:150]!r}")
                if a.secret.encode() in body:
                    failures.append(f"{method.upper()} {url} [{where}]: A's text in the response")
                if route.is_api and status == 404:
                    assert response.json().keys() == {"message", "extra"}, url
                # Nothing at all may change while B's member tries A's objects (GETs included).
                if (now := fingerprint()) != state:
                    failures.append(f"{method.upper()} {url} [{where}]: the database or MEDIA_ROOT changed")
                    state = now
    assert sent > 400
    assert not failures, f"{len(failures)} of {sent} requests:\n" + "\n".join(failures)


@pytest.mark.parametrize("role", ["admin", "labeler", "engineer"])
def test_lists_without_ids_show_nothing_of_a(two_projects, role, token_client, session_client):
    a, b = two_projects
    attacker = b.users[role]
    api, web = token_client(attacker), session_client(attacker)
    for response in (
        api.get("/api/v1/projects"),
        api.get("/api/v1/me"),
        web.get(reverse("projects:list")),
        web.get(reverse("profile")),
    ):
        assert response.status_code == 200
        assert a.secret.encode() not in response.content
        assert b.secret.encode() in response.content or response.request["PATH_INFO"] == reverse("profile")


def test_sweep_ids_are_real_and_methods_complete(two_projects, token_client, session_client, settings):
    """The control run: a member of A sending the same requests is not refused with a 404 (so the
    sweep's ids and bodies point at real objects), and every method the table leaves out is a 405
    (so the table lists every method a route answers). Writes are rolled back."""
    a, _b = two_projects
    clients = {}

    def client_for(case, route):
        key = (case.control, route.is_api)
        if key not in clients:
            user = a.users[case.control]
            clients[key] = token_client(user) if route.is_api else session_client(user)
        return clients[key]

    media = fingerprint()["files"]
    failures = []
    for route in id_routes():
        case = CASES[route.name]
        url = url_for(route, case, a, a)
        for method in METHODS:
            ctx = Ctx(a=a, attacker=a.users[case.control])
            client = client_for(case, route)
            with rolled_back():
                response = request(client, route, case, method, url, ctx)
            _restore(media)
            status = response.status_code
            if method in case.methods:
                if status in (404, 405) or status >= 500:
                    failures.append(
                        f"{method.upper()} {url} as A's {case.control}: {status} {content(response)[:150]!r}"
                    )
            elif status != 405:
                failures.append(f"{method.upper()} {url}: {status}, but the sweep table does not list {method}")
    assert not failures, "\n".join(failures)


def _restore(files):
    from pathlib import Path

    from django.conf import settings

    for rel, data in files:
        path = Path(settings.MEDIA_ROOT) / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


# Ids of A inside request bodies sent to B's own routes -----------------------------------------------


def test_ids_of_a_in_bodies_are_refused(two_projects, token_client):
    """B's routes given A's objects in the body (a model config, prompts, a source candidate, the
    candidates of a ranking or a gold answer, the label to keep) refuse them and write nothing."""
    a, b = two_projects
    admin = token_client(b.users["admin"])
    labeler = token_client(b.users["labeler"])
    reviewer = token_client(b.users["reviewer"])
    a_candidates = a["gold_candidates"]
    cases = [
        (admin, "post", f"/api/v1/projects/{b.project.pk}/generation-batches",
         {"model_config": a["config"].pk, "fewer_than": 5}, {404}),
        (admin, "post", f"/api/v1/projects/{b.project.pk}/generation-batches",
         {"model_config": b["config"].pk, "prompt_ids": [a["prompt"].pk]}, {400}),
        (labeler, "post", f"/api/v1/work-items/{b['open_demonstration'].pk}/demonstration",
         {"content": "Fixed.", "source_candidate": a["candidate"].pk}, {400}),
        (labeler, "post", f"/api/v1/work-items/{b['open_comparison'].pk}/ranking",
         {"ranks": {str(a_candidates[0].pk): 1, str(a_candidates[1].pk): 2}}, {400}),
        (admin, "put", f"/api/v1/work-items/{b['gold_item'].pk}/gold",
         {"ranking": {str(a_candidates[0].pk): 1, str(a_candidates[1].pk): 2}}, {400}),
        (admin, "put", f"/api/v1/work-items/{b['gold_item'].pk}/gold",
         {"pairs": [[a_candidates[0].pk, a_candidates[1].pk]]}, {400}),
        (reviewer, "post", f"/api/v1/work-items/{b['disputed'].pk}/adjudicate",
         {"keep_label": a["disputed_label"].pk, "comment": "A's label"}, {400}),
        (admin, "post", f"/api/v1/projects/{b.project.pk}/labelers/{a.users['labeler'].pk}/quarantine",
         {"reason": "not a member here"}, {404}),
        (reviewer, "post", f"/api/v1/triage-items/{b['triage_item'].pk}",
         {"status": "duplicate", "duplicate_of": a["triage_item"].pk}, {400}),
    ]  # fmt: skip
    for client, method, url, body, expected in cases:
        before = fingerprint()
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code in expected, (url, body, response.status_code, response.content[:300])
        assert a.secret.encode() not in response.content
        assert fingerprint() == before, (url, body)
    assert not GenerationBatch.objects.filter(project=b.project).exclude(pk=b["batch"].pk).exists()
    assert not Label.objects.filter(project=b.project, source_candidate__prompt__project=a.project).exists()
    assert GoldStandard.objects.get(work_item=b["gold_item"]).note == b.secret
    assert Assignment.objects.get(work_item=b["open_comparison"], user=b.users["labeler"]).status == "active"
