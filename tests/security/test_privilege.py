"""Privilege inside a project: each role is held to the role model (labelhub/projects/permissions.py)
over the API and the web pages, a user cannot raise their own role or mint tokens for anyone else,
and Django's admin shows nothing to a user who is not site staff.

Each request of the matrix is sent by a member of every role; a refused request changes nothing
(database and MEDIA_ROOT), an allowed one is rolled back so every role sees the same world."""

import re

import pytest
import yaml
from django.urls import get_resolver, reverse

from labelhub.accounts.models import ApiToken, User
from labelhub.projects.models import GuidelineVersion, Membership, Role
from labelhub.projects.permissions import Capability, role_can

from .access_fixtures import _no_broker, session_client, token_client, two_projects  # noqa: F401
from .access_routes import all_routes
from .access_world import fingerprint
from .test_idor import content, rolled_back

pytestmark = pytest.mark.django_db

ROLES = [Role.ADMIN, Role.LABELER, Role.REVIEWER, Role.ENGINEER]
STATS = "stats"  # admins, reviewers and engineers (quality.selectors.stats_access)


def allowed(role, capability) -> bool:
    if capability == STATS:
        return any(role_can(role, c) for c in (Capability.MANAGE, Capability.REVIEW, Capability.EXPORT))
    return role_can(role, capability)


def _own_membership(w, user):
    return Membership.objects.get(project=w.project, user=user).pk


def _keep(w, user):
    return {"keep_label": w["disputed_label"].pk, "comment": "settled"}


# (method, path, body, capability, status when refused: a number, or {role: number})
# Paths and bodies are callables of (world, user). Exports and snapshots answer 404 to roles without
# EXPORT (the project's data does not exist for them); everything else 403.
HIDDEN = 404
API = [
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/members",
     lambda w, u: {"username": "someone", "role": "admin", "create": True}, Capability.MANAGE, 403),
    ("patch", lambda w, u: f"/api/v1/projects/{w.project.pk}/members/{_own_membership(w, u)}",
     lambda w, u: {"role": "admin"}, Capability.MANAGE, 403),
    ("patch", lambda w, u: f"/api/v1/projects/{w.project.pk}", lambda w, u: {"name": "mine"}, Capability.MANAGE, 403),
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/guidelines",
     lambda w, u: {"change_note": "mine", "content": "# mine"}, Capability.MANAGE, 403),
    ("put", lambda w, u: f"/api/v1/projects/{w.project.pk}/guidelines/draft", lambda w, u: {"content": "mine"},
     Capability.MANAGE, 403),
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/model-configs",
     lambda w, u: {"name": "mine", "base_url": "http://127.0.0.1:9/v1", "model": "m"}, Capability.MANAGE, 403),
    ("patch", lambda w, u: f"/api/v1/projects/{w.project.pk}/model-configs/{w['config'].pk}",
     lambda w, u: {"temperature": 2}, Capability.MANAGE, 403),
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/generation-batches",
     lambda w, u: {"model_config": w["config"].pk, "fewer_than": 5}, Capability.MANAGE, 403),
    ("post", lambda w, u: f"/api/v1/generation-batches/{w['batch'].pk}/retry-failed", None, Capability.MANAGE, 403),
    ("post", lambda w, u: f"/api/v1/generation-jobs/{w['job'].pk}/retry", None, Capability.MANAGE, 403),
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/work/sync", None, Capability.MANAGE, 403),
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/work/next", lambda w, u: {}, Capability.LABEL, 403),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/my-labels", None, Capability.LABEL, 403),
    ("post", lambda w, u: f"/api/v1/labels/{w['label'].pk}/review", lambda w, u: {"accept": True},
     Capability.REVIEW, 403),
    *[("get", lambda w, u, k=kind: f"/api/v1/projects/{w.project.pk}/exports/{k}.jsonl", None, Capability.EXPORT,
       HIDDEN) for kind in ("sft", "preferences", "kto", "rankings")],
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/snapshots", None, Capability.EXPORT, HIDDEN),
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/snapshots", lambda w, u: {"kind": "sft"},
     Capability.EXPORT, HIDDEN),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/snapshots/{w['snapshot'].pk}", None, Capability.EXPORT,
     HIDDEN),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/snapshots/{w['snapshot'].pk}/download", None,
     Capability.EXPORT, HIDDEN),
    # Deleting a snapshot is for admins: an engineer sees it (403), the others do not (404).
    ("delete", lambda w, u: f"/api/v1/projects/{w.project.pk}/snapshots/{w['snapshot'].pk}", None,
     Capability.MANAGE, {Role.ENGINEER: 403, Role.LABELER: HIDDEN, Role.REVIEWER: HIDDEN}),
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/labelers/{w['not_quarantined'].pk}/quarantine",
     lambda w, u: {"reason": "r"}, Capability.MANAGE, 403),
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/labelers/{w['quarantined'].pk}/release",
     lambda w, u: {"reason": "r"}, Capability.MANAGE, 403),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/gold", None, Capability.MANAGE, 403),
    ("put", lambda w, u: f"/api/v1/work-items/{w['gold_item'].pk}/gold", lambda w, u: {"all_bad": True},
     Capability.MANAGE, 403),
    ("delete", lambda w, u: f"/api/v1/work-items/{w['gold_item'].pk}/gold", lambda w, u: {"reason": "r"},
     Capability.MANAGE, 403),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/quality-events", None, Capability.MANAGE, 403),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/adjudications", None, Capability.REVIEW, 403),
    ("post", lambda w, u: f"/api/v1/work-items/{w['disputed'].pk}/adjudicate", _keep, Capability.REVIEW, 403),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/stats", None, STATS, 403),
    ("post", lambda w, u: f"/api/v1/projects/{w.project.pk}/stats/refresh", None, STATS, 403),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/leaderboard", None, Capability.SEE_PROVENANCE, 403),
    # Which model wrote a candidate: admins and engineers only (labelers and reviewers get 403).
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/model-configs", None, Capability.SEE_PROVENANCE, 403),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/model-configs/{w['config'].pk}", None,
     Capability.SEE_PROVENANCE, 403),
    ("get", lambda w, u: f"/api/v1/projects/{w.project.pk}/generation-batches", None, Capability.SEE_PROVENANCE,
     403),
    ("get", lambda w, u: f"/api/v1/generation-batches/{w['batch'].pk}", None, Capability.SEE_PROVENANCE, 403),
    ("get", lambda w, u: f"/api/v1/generation-batches/{w['batch'].pk}/jobs", None, Capability.SEE_PROVENANCE, 403),
]  # fmt: skip


def _p(name, **kw):
    return lambda w, u: reverse(name, kwargs={"project_id": w.project.pk, **{k: f(w, u) for k, f in kw.items()}})


WEB = [
    ("post", _p("projects:member-role", membership_id=_own_membership), lambda w, u: {"role": "admin"},
     Capability.MANAGE, 403),
    ("post", _p("projects:members"), lambda w, u: {"username": "someone", "role": "admin"}, Capability.MANAGE, 403),
    ("post", _p("projects:members"), lambda w, u: {"action": "create", "username": "someone", "role": "admin"},
     Capability.MANAGE, 403),
    ("post", _p("projects:member-link", membership_id=_own_membership), None, Capability.MANAGE, 403),
    ("post", _p("projects:settings"), lambda w, u: {"name": "mine"}, Capability.MANAGE, 403),
    ("post", _p("projects:guideline-edit"), lambda w, u: {"content": "# mine", "change_note": "n", "action": "publish"},
     Capability.MANAGE, 403),
    ("post", _p("projects:prompts:import"), None, Capability.MANAGE, 403),
    ("post", _p("projects:generation:model-create"), lambda w, u: {"name": "mine"}, Capability.MANAGE, 403),
    ("post", _p("projects:generation:batch-start"), lambda w, u: {"model_config": w["config"].pk, "fewer_than": 5},
     Capability.MANAGE, 403),
    ("post", _p("projects:generation:job-retry", job_id=lambda w, u: w["job"].pk), None, Capability.MANAGE, 403),
    ("post", _p("projects:labeling:sync"), None, Capability.MANAGE, 403),
    ("get", _p("projects:labeling:workbench"), None, Capability.LABEL, 403),
    ("get", _p("projects:labeling:review"), None, Capability.REVIEW, 403),
    ("post", _p("projects:labeling:review-acknowledge"), lambda w, u: {"number": 1}, Capability.REVIEW, 403),
    ("post", _p("projects:labeling:review-decide", label_id=lambda w, u: w["label"].pk),
     lambda w, u: {"decision": "accept"}, Capability.REVIEW, 403),
    ("get", _p("projects:exports:list"), None, Capability.EXPORT, HIDDEN),
    ("post", _p("projects:exports:create"), lambda w, u: {"kind": "sft"}, Capability.EXPORT, HIDDEN),
    ("get", _p("projects:exports:snapshot", snapshot_id=lambda w, u: w["snapshot"].pk), None, Capability.EXPORT,
     HIDDEN),
    ("get", _p("projects:exports:download", snapshot_id=lambda w, u: w["snapshot"].pk), None, Capability.EXPORT,
     HIDDEN),
    ("get", _p("projects:quality:dashboard"), None, STATS, 403),
    ("get", _p("projects:quality:labelers"), None, STATS, 403),
    ("post", _p("projects:quality:recompute"), None, STATS, 403),
    ("post", _p("projects:quality:quarantine", user_id=lambda w, u: w["not_quarantined"].pk),
     lambda w, u: {"reason": "r"}, Capability.MANAGE, 403),
    ("get", _p("projects:quality:gold"), None, Capability.MANAGE, 403),
    ("post", _p("projects:quality:gold-unset", work_item_id=lambda w, u: w["gold_item"].pk),
     lambda w, u: {"reason": "r"}, Capability.MANAGE, 403),
    ("get", _p("projects:quality:adjudication"), None, Capability.REVIEW, 403),
    ("post", _p("projects:quality:adjudicate", work_item_id=lambda w, u: w["disputed"].pk), _keep,
     Capability.REVIEW, 403),
    ("get", _p("projects:quality:leaderboard"), None, Capability.SEE_PROVENANCE, 403),
    ("get", _p("projects:generation:models"), None, Capability.SEE_PROVENANCE, 403),
    ("get", _p("projects:generation:model", config_id=lambda w, u: w["config"].pk), None,
     Capability.SEE_PROVENANCE, 403),
    ("get", _p("projects:generation:batches"), None, Capability.SEE_PROVENANCE, 403),
    ("get", _p("projects:generation:batch", batch_id=lambda w, u: w["batch"].pk), None, Capability.SEE_PROVENANCE,
     403),
    ("get", lambda w, u: reverse("projects:generation-batch", args=[w["batch"].pk]), None,
     Capability.SEE_PROVENANCE, 403),
]  # fmt: skip


def _run_matrix(matrix, a, clients, *, api: bool):
    failures = []
    for method, path_fn, body_fn, capability, refused in matrix:
        for role in ROLES:
            user = a.users[role]
            path, body = path_fn(a, user), body_fn(a, user) if body_fn else None
            client = clients[role]
            kwargs = {"format": "json"} if api and body is not None else {}
            args = (path, body) if body is not None else (path,)
            if allowed(role, capability):
                with rolled_back():
                    status = getattr(client, method)(*args, **kwargs).status_code
                if status in (403, 404, 405) or status >= 500:
                    failures.append(f"{role} {method.upper()} {path}: {status}, expected to be allowed")
                continue
            expected = refused[role] if isinstance(refused, dict) else refused
            before = fingerprint()
            response = getattr(client, method)(*args, **kwargs)
            if response.status_code != expected:
                failures.append(f"{role} {method.upper()} {path}: {response.status_code} != {expected}")
            if a.secret.encode() in content(response) and expected == HIDDEN:
                failures.append(f"{role} {method.upper()} {path}: project data in a refusal")
            if fingerprint() != before:
                failures.append(f"{role} {method.upper()} {path}: refused, but something changed")
    return failures


def test_api_roles_are_held_to_the_role_model(two_projects, token_client):
    a, _b = two_projects
    clients = {role: token_client(a.users[role]) for role in ROLES}
    failures = _run_matrix(API, a, clients, api=True)
    assert not failures, "\n".join(failures)


def test_web_roles_are_held_to_the_role_model(two_projects, session_client):
    a, _b = two_projects
    clients = {role: session_client(a.users[role]) for role in ROLES}
    failures = _run_matrix(WEB, a, clients, api=False)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", [Role.LABELER, Role.REVIEWER, Role.ENGINEER])
def test_nobody_but_an_admin_changes_their_own_role_or_publishes(two_projects, token_client, session_client, role):
    a, _b = two_projects
    user = a.users[role]
    me = Membership.objects.get(project=a.project, user=user)
    versions = GuidelineVersion.objects.filter(project=a.project).count()
    api, web = token_client(user), session_client(user)
    member_api = f"/api/v1/projects/{a.project.pk}/members/{me.pk}"
    member_role = reverse("projects:member-role", args=[a.project.pk, me.pk])
    for new_role in ROLES:
        assert api.patch(member_api, {"role": new_role}, format="json").status_code == 403
        assert web.post(member_role, {"role": new_role}).status_code == 403
    # Nor leave and come back: removing oneself needs MANAGE too.
    assert api.delete(f"/api/v1/projects/{a.project.pk}/members/{me.pk}").status_code == 403
    publish = {"change_note": "mine", "content": "# Mine"}
    assert api.post(f"/api/v1/projects/{a.project.pk}/guidelines", publish, format="json").status_code == 403
    response = web.post(reverse("projects:guideline-edit", args=[a.project.pk]), {**publish, "action": "publish"})
    assert response.status_code == 403
    me.refresh_from_db()
    assert me.role == role
    assert GuidelineVersion.objects.filter(project=a.project).count() == versions


def test_tokens_are_minted_only_for_oneself(two_projects, token_client, session_client):
    """The only way to mint a token over HTTP is one's own profile page (session): extra fields naming
    someone else are ignored, a token cannot be used to reach that page, and no API route mints one."""
    a, _b = two_projects
    labeler, admin = a.users[Role.LABELER], a.users[Role.ADMIN]
    admin_tokens = set(ApiToken.objects.filter(user=admin).values_list("pk", flat=True))
    web = session_client(labeler)
    response = web.post(
        reverse("profile"),
        {"name": "mine", "user": admin.pk, "user_id": admin.pk, "username": admin.username},
        follow=True,
    )
    assert response.status_code == 200 and response.redirect_chain == [(reverse("profile"), 302)]
    made = ApiToken.objects.get(name="mine")
    assert made.user == labeler
    assert set(ApiToken.objects.filter(user=admin).values_list("pk", flat=True)) == admin_tokens
    # The plaintext key shown once belongs to the labeler's new token only.
    assert made.key_prefix.encode() in response.content

    # A token does not open the session-only profile page (Django views ignore the header).
    api = token_client(labeler)
    response = api.post(reverse("profile"), {"name": "via token"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not ApiToken.objects.filter(name="via token").exists()
    # No API route creates or lists tokens.
    schema = yaml.safe_load(api.get("/api/schema/").content)
    assert not [p for p in schema["paths"] if "token" in p.lower()]
    assert api.post("/api/v1/me", {"user": admin.pk}, format="json").status_code == 405
    # Revoking someone else's token: 404, still active.
    theirs = ApiToken.objects.filter(user=admin, revoked_at__isnull=True).first() or ApiToken.objects.create(
        user=admin, name="admin's", key_hash="0" * 64, key_prefix="lh_x"
    )
    assert web.post(reverse("token-revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def _admin_urls() -> list[str]:
    """Every URL of Django's admin but its login page, with 1 for each argument."""
    urls = []
    for route in all_routes():
        if not route.pattern.startswith("admin/") or route.name == "admin:login":
            continue
        path = route.pattern
        path = re.sub(r"\^\(\?P<app_label>(\w+)[^)]*\)/\$", r"\1/", path)  # the app index: the first app
        path = path.replace("(?P<url>.*)$", "nothing-here/")  # the catch-all
        path = re.sub(r"<(?:\w+:)?\w+>", "1", path)
        urls.append("/" + path)
    return urls


def test_admin_is_closed_to_non_staff(two_projects, session_client, token_client, staff):
    """Django's admin is for site staff. Every other user, a project admin included, is sent to the
    admin's login page from every admin URL (GET and POST), by session or by token; the admin login
    itself refuses them."""
    a, _b = two_projects
    urls = _admin_urls()
    assert len(urls) > 50 and "/admin/" in urls and "/admin/auth/" in urls, urls
    assert not any(u.is_staff for u in a.users.values())
    users_before = User.objects.count()
    project_admin = a.users[Role.ADMIN]
    attempts = [(session_client(a.users[role]), "get") for role in ROLES]
    attempts += [
        (session_client(project_admin), "post"),
        (token_client(project_admin), "get"),
        (session_client(), "get"),
    ]
    for client, method in attempts:
        for url in urls:
            response = getattr(client, method)(url)
            # The admin's logout sends a visitor without access to the admin index, which sends them on.
            to = "/admin/" if url == "/admin/logout/" else "/admin/login/"
            assert response.status_code == 302, (method, url, response.status_code)
            assert response["Location"].startswith(to), (method, url, response["Location"])
            assert response.content == b"", url
    add = session_client(a.users[Role.ADMIN]).post(
        "/admin/accounts/user/add/", {"username": "planted", "password1": "x" * 20, "password2": "x" * 20}
    )
    assert add.status_code == 302
    assert User.objects.count() == users_before

    # The admin's login form does not let a non-staff user in, right password or not.
    anonymous = session_client(None)
    response = anonymous.post(
        "/admin/login/?next=/admin/",
        {"username": a.users[Role.ADMIN].username, "password": "correct horse battery staple"},
    )
    assert response.status_code == 200
    assert b"staff account" in response.content
    assert anonymous.get("/admin/").status_code == 302
    # Site staff do get in (the sweep above is not vacuous).
    assert session_client(staff).get("/admin/").status_code == 200


def test_resolver_sees_the_admin():
    assert any(str(p.pattern) == "admin/" for p in get_resolver().url_patterns)
