"""Every URL pattern of the site, read from the resolver, and the sweep table of the routes that
address a project or an object by id (tests/security/test_idor.py).

A route whose pattern has an id converter must appear in ID_ROUTES, or in SKIPPED with a reason:
a new route fails the sweep until someone says how to reach its objects."""

import io
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    pattern: str  # the full pattern, e.g. "api/v1/projects/<id:project_id>/members"
    name: str  # the namespaced name, e.g. "api:members"
    callback: object

    @property
    def is_api(self) -> bool:
        return self.name.startswith("api:")

    @property
    def view_methods(self) -> set[str] | None:
        """The methods a DRF view implements (None for a function view: the sweep table says)."""
        cls = getattr(self.callback, "view_class", None) or getattr(self.callback, "cls", None)
        if cls is None or not hasattr(cls, "http_method_names"):
            return None
        return {m for m in METHODS if hasattr(cls, m)}

    @property
    def has_id(self) -> bool:
        return "<" in self.pattern or "(?P<" in self.pattern


def all_routes() -> list[Route]:
    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = ":".join(filter(None, [namespace, p.namespace]))
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = ":".join(filter(None, [namespace, p.name])) if p.name else ""
                yield Route(prefix + str(p.pattern), name, p.callback)

    return list(walk(get_resolver().url_patterns))


# Routes with an id that the sweep does not request, and why.
SKIPPED_PREFIXES = {
    # Django's admin: staff only. tests/security/test_privilege.py proves that a non-staff user (any
    # project role) gets no admin page at all, whatever the URL; object ids there are the admin's.
    "admin/": "Django admin (staff only; test_privilege.py::test_admin_is_closed_to_non_staff)",
    # A one-time secret, not an object id: it reaches one account only, for anyone holding it (forged,
    # used, expired links and the lockout: tests/web/test_member_invite.py).
    "accounts/set-password/": "set-password link token (tests/web/test_member_invite.py)",
}


def skipped(route: Route) -> str | None:
    for prefix, why in SKIPPED_PREFIXES.items():
        if route.pattern.startswith(prefix):
            return why
    return None


@dataclass
class Case:
    """How to reach one route: the ids (keys of tests.security.access_world.World objects, or callables of
    the world), a body per method (a callable of the Ctx, or None), the member of the owning project
    for whom the request is legitimate (`control`), and whether the route also takes another
    project's object ids under the attacker's own project id (`nested`: False when the second id is
    a number per project, like a guideline version)."""

    name: str
    methods: dict
    ids: dict = field(default_factory=dict)
    control: str = "admin"
    nested: bool = True
    query: str = ""


@dataclass
class Ctx:
    a: object  # the victim's World
    attacker: object  # the attacking user


def _id(key):
    return lambda w: w[key].pk


def _file(ctx):
    upload = io.BytesIO(b'{"prompt": "planted by an intruder"}\n')
    upload.name = "planted.jsonl"
    return {"file": upload}


def _ranking(ctx):
    c = ctx.a["open_comparison"].candidate_ids
    rating = {"helpful": 7, "truthful": 7, "harmless": 7}
    return {"ranks": {str(c[0]): 1, str(c[1]): 2}, "ratings": {str(c[0]): rating, str(c[1]): rating}}


def _gold(ctx):
    c = ctx.a["gold_candidates"]
    return {"ranking": {str(c[1].pk): 1, str(c[0].pk): 2}, "note": "flipped"}


def _gold_form(ctx):
    c = ctx.a["gold_candidates"]
    return {f"rank_{c[1].pk}": "1", f"rank_{c[0].pk}": "2", "note": "flipped"}


def _keep(ctx):
    return {"keep_label": ctx.a["disputed_label"].pk, "comment": "intruder decides"}


REASON = {"reason": "intruder"}
V = "version"  # guideline number: per project, not a global id


# fmt: off
API_CASES = [
    Case("api:project", {"get": None, "patch": lambda c: {"description": "pwned"}}),
    Case("api:members", {"get": None, "post": lambda c: {"username": c.attacker.username, "role": "admin"}}),
    Case("api:member", {"patch": lambda c: {"role": "admin"}, "delete": None}, {"membership_id": _id("membership")}),
    Case("api:guidelines", {"get": None, "post": lambda c: {"change_note": "x", "content": "# pwned"}}),
    Case("api:guideline-draft", {"get": None, "put": lambda c: {"content": "pwned"},
                                 "patch": lambda c: {"schema": {"tracks": [{"name": "pwned"}], "questions": []}}}),
    Case("api:project-schema", {"get": None}),
    Case("api:guideline-schema", {"get": None}, {"number": lambda w: w[V].number}, nested=False),
    Case("api:guideline-diff", {"get": None}, query="?from=1&to=2"),
    Case("api:guideline", {"get": None}, {"number": lambda w: w[V].number}, nested=False),
    Case("api:guideline-acknowledge", {"post": None}, {"number": lambda w: w[V].number}, nested=False),
    Case("api:prompts", {"get": None}),
    Case("api:prompt-import", {"post": _file}),
    Case("api:prompt", {"get": None}, {"prompt_id": _id("prompt")}),
    Case("api:prompt-import-detail", {"get": None}, {"import_id": _id("import")}),
    Case("api:model-configs", {"get": None, "post": lambda c: {"name": "x", "base_url": "http://127.0.0.1:9/v1",
                                                               "model": "m"}}),
    Case("api:model-config", {"get": None, "patch": lambda c: {"name": "pwned"}, "delete": None},
         {"config_id": _id("config")}),
    Case("api:model-config-test", {"post": None}, {"config_id": _id("config")}),
    Case("api:generation-batches", {"get": None, "post": lambda c: {"model_config": c.a["config"].pk,
                                                                    "fewer_than": 5}}),
    Case("api:generation-batch", {"get": None}, {"batch_id": _id("batch")}),
    Case("api:generation-batch-jobs", {"get": None}, {"batch_id": _id("batch")}),
    Case("api:generation-batch-retry", {"post": None}, {"batch_id": _id("batch")}),
    Case("api:generation-job-retry", {"post": None}, {"job_id": _id("job")}),
    Case("api:evaluation-set-runs",
         {"get": None, "post": lambda c: {"model_config": c.a["config"].pk, "baseline_kind": "reference"}},
         {"set_id": _id("run_set")}),
    Case("api:evaluation-run", {"get": None}, {"run_id": _id("run")}),
    Case("api:evaluation-run-cancel", {"post": None}, {"run_id": _id("run")}),
    Case("api:evaluation-run-resume", {"post": None}, {"run_id": _id("run")}),
    Case("api:work-next", {"post": lambda c: {}}, control="labeler"),
    Case("api:work-sync", {"post": None}),
    Case("api:my-labels", {"get": None}, control="labeler"),
    Case("api:work-item", {"get": None}, {"work_item_id": _id("open_comparison")}, control="labeler"),
    Case("api:work-preference", {"get": None, "put": lambda c: {"kind": "comparison", "track": ""}},
         control="labeler"),
    Case("api:label-reopen", {"post": None}, {"label_id": _id("rejected_label")}, control="labeler"),
    Case("api:work-item-demonstration", {"post": lambda c: {"content": "pwned"}, "put": lambda c: {"content": "x"}},
         {"work_item_id": _id("open_demonstration")}, control="labeler"),
    Case("api:work-item-ranking", {"post": _ranking, "put": _ranking}, {"work_item_id": _id("open_comparison")},
         control="labeler"),
    Case("api:work-item-skip", {"post": lambda c: REASON}, {"work_item_id": _id("open_comparison")},
         control="labeler"),
    Case("api:work-item-resume", {"post": None}, {"work_item_id": _id("open_comparison")}, control="labeler"),
    Case("api:work-item-draft", {"put": lambda c: {"content": "pwned"}}, {"work_item_id": _id("open_comparison")},
         control="labeler"),
    Case("api:label-review", {"post": lambda c: {"accept": False, "comment": "x"}}, {"label_id": _id("label")},
         control="reviewer"),
    Case("api:export-sft", {"get": None}, control="engineer"),
    Case("api:export-preferences", {"get": None}, control="engineer"),
    Case("api:export-kto", {"get": None}, control="engineer"),
    Case("api:export-rankings", {"get": None}, control="engineer"),
    Case("api:snapshots", {"get": None, "post": lambda c: {"kind": "sft"}}, control="engineer"),
    Case("api:snapshot", {"get": None, "delete": None}, {"snapshot_id": _id("snapshot")}),
    Case("api:snapshot-download", {"get": None}, {"snapshot_id": _id("snapshot")}, control="engineer"),
    Case("api:labeler-quarantine", {"post": lambda c: REASON}, {"user_id": _id("not_quarantined")}),
    Case("api:labeler-release", {"post": lambda c: REASON}, {"user_id": _id("quarantined")}),
    Case("api:gold-items", {"get": None}),
    Case("api:work-item-gold", {"put": _gold, "delete": lambda c: REASON}, {"work_item_id": _id("gold_item")}),
    Case("api:adjudications", {"get": None}, control="reviewer"),
    Case("api:work-item-adjudicate", {"post": _keep}, {"work_item_id": _id("disputed")}, control="reviewer"),
    Case("api:quality-events", {"get": None}),
    Case("api:stats", {"get": None}, control="engineer"),
    Case("api:stats-refresh", {"post": None}, control="engineer"),
    Case("api:leaderboard", {"get": None}, control="engineer"),
    Case("api:evaluation-sets", {"get": None, "post": lambda c: {"name": "x", "prompt_ids": [c.a["eval_prompt"].pk]}},
         control="engineer"),
    Case("api:evaluation-set", {"get": None, "delete": None}, {"set_id": _id("evaluation_set")}, control="engineer"),
    Case("api:evaluation-run-triage", {"get": None}, {"run_id": _id("triage_run")}, control="reviewer"),
    Case("api:triage-item", {"post": lambda c: {"status": "wont_fix"}}, {"item_id": _id("triage_item")},
         control="reviewer"),
]

WEB_CASES = [
    Case("projects:detail", {"get": None}),
    Case("projects:settings", {"get": None, "post": lambda c: {"name": "pwned",
                                                               "demonstration_overlap": 1, "comparison_overlap": 1,
                                                               "candidates_per_prompt": 2}}),
    Case("projects:members", {"get": None, "post": lambda c: {"username": c.attacker.username, "role": "admin"}}),
    Case("projects:member-role", {"post": lambda c: {"role": "admin"}}, {"membership_id": _id("membership")}),
    Case("projects:member-remove", {"post": None}, {"membership_id": _id("membership")}),
    Case("projects:member-link", {"post": None}, {"membership_id": _id("membership")}),
    Case("projects:guidelines", {"get": None}),
    Case("projects:guideline-version", {"get": None}, {"number": lambda w: w[V].number}, nested=False),
    Case("projects:guideline-diff", {"get": None}),
    Case("projects:guideline-edit", {"get": None, "post": lambda c: {"content": "# pwned", "change_note": "x",
                                                                     "action": "publish"}}),
    Case("projects:guideline-acknowledge", {"post": lambda c: {"number": c.a[V].number}}),
    Case("projects:prompts:list", {"get": None}),
    Case("projects:prompts:detail", {"get": None}, {"prompt_id": _id("prompt")}),
    Case("projects:prompts:import", {"get": None, "post": _file}),
    Case("projects:prompts:import-detail", {"get": None}, {"import_id": _id("import")}),
    Case("projects:generation:models", {"get": None}),
    Case("projects:generation:model-create", {"get": None, "post": lambda c: {
        "name": "x", "base_url": "http://127.0.0.1:9/v1", "model": "m", "temperature": 0.7, "top_p": 1,
        "max_tokens": 8, "candidates_per_prompt": 2, "is_active": "on"}}),
    Case("projects:generation:model", {"get": None}, {"config_id": _id("config")}),
    Case("projects:generation:model-edit", {"get": None, "post": lambda c: {
        "name": "pwned", "base_url": "http://127.0.0.1:9/v1", "model": "m", "temperature": 0.7, "top_p": 1,
        "max_tokens": 8, "candidates_per_prompt": 2}}, {"config_id": _id("config")}),
    Case("projects:generation:model-test", {"post": None}, {"config_id": _id("config")}),
    Case("projects:generation:model-active", {"post": lambda c: {"active": "0"}}, {"config_id": _id("config")}),
    Case("projects:generation:model-delete", {"post": None}, {"config_id": _id("config")}),
    Case("projects:generation:batches", {"get": None}),
    Case("projects:generation:batch-start", {"get": None, "post": lambda c: {"model_config": c.a["config"].pk,
                                                                             "fewer_than": 5}}),
    Case("projects:generation:batch", {"get": None}, {"batch_id": _id("batch")}),
    Case("projects:generation:batch-retry-failed", {"post": None}, {"batch_id": _id("batch")}),
    Case("projects:generation:job-retry", {"post": None}, {"job_id": _id("job")}),
    Case("projects:evaluation:run-create",
         {"get": None, "post": lambda c: {"model_config": c.a["config"].pk, "baseline_kind": "reference",
                                          "labels_per_pair": 1}},
         {"set_id": _id("run_set")}),
    Case("projects:evaluation:run", {"get": None}, {"run_id": _id("run")}),
    Case("projects:evaluation:run-cancel", {"post": None}, {"run_id": _id("run")}),
    Case("projects:evaluation:run-resume", {"post": None}, {"run_id": _id("run")}),
    Case("projects:labeling:workbench", {"get": None}, control="labeler"),
    Case("projects:labeling:acknowledge", {"post": lambda c: {"number": c.a[V].number}}, control="labeler"),
    Case("projects:labeling:progress", {"get": None}, control="labeler"),
    Case("projects:labeling:sync", {"post": None}),
    Case("projects:labeling:preference", {"post": lambda c: {"kind": "comparison", "track": ""}}, control="labeler"),
    Case("projects:labeling:mine", {"get": None}, control="labeler"),
    Case("projects:labeling:reopen", {"post": None}, {"label_id": _id("rejected_label")}, control="labeler"),
    Case("projects:labeling:review", {"get": None}, control="reviewer"),
    Case("projects:labeling:review-acknowledge", {"post": lambda c: {"number": c.a[V].number}}, control="reviewer"),
    Case("projects:labeling:review-decide", {"post": lambda c: {"decision": "reject", "comment": "x"}},
         {"label_id": _id("label")}, control="reviewer"),
    Case("projects:exports:list", {"get": None}, control="engineer"),
    Case("projects:exports:create", {"post": lambda c: {"kind": "sft", "format": "trl-messages"}},
         control="engineer"),
    Case("projects:exports:snapshot", {"get": None}, {"snapshot_id": _id("snapshot")}, control="engineer"),
    Case("projects:exports:download", {"get": None}, {"snapshot_id": _id("snapshot")}, control="engineer"),
    Case("projects:quality:dashboard", {"get": None}, control="engineer"),
    Case("projects:quality:recompute", {"post": None}, control="engineer"),
    Case("projects:quality:status", {"get": None}, control="engineer"),
    Case("projects:quality:labelers", {"get": None}, control="engineer"),
    Case("projects:quality:quarantine", {"post": lambda c: REASON}, {"user_id": _id("not_quarantined")}),
    Case("projects:quality:release", {"post": lambda c: REASON}, {"user_id": _id("quarantined")}),
    Case("projects:quality:leaderboard", {"get": None}, control="engineer"),
    Case("projects:quality:adjudication", {"get": None}, control="reviewer"),
    Case("projects:quality:adjudicate", {"post": _keep}, {"work_item_id": _id("disputed")}, control="reviewer"),
    Case("projects:quality:gold", {"get": None}),
    Case("projects:quality:gold-set", {"post": _gold_form}, {"work_item_id": _id("gold_item")}),
    Case("projects:quality:gold-unset", {"post": lambda c: REASON}, {"work_item_id": _id("gold_item")}),
    Case("projects:evaluation:sets", {"get": None}, control="engineer"),
    Case("projects:evaluation:set-create", {"get": None, "post": lambda c: {"name": "x",
                                                                            "prompt_ids": str(c.a["eval_prompt"].pk)}},
         control="engineer"),
    Case("projects:evaluation:set", {"get": None}, {"set_id": _id("evaluation_set")}, control="engineer"),
    Case("projects:evaluation:set-delete", {"post": None}, {"set_id": _id("evaluation_set")}, control="engineer"),
    Case("projects:evaluation:triage", {"get": None}, {"run_id": _id("triage_run")}, control="reviewer"),
    Case("projects:evaluation:triage-decide", {"post": lambda c: {"status": "wont_fix"}},
         {"run_id": _id("triage_run"), "item_id": _id("triage_item")}, control="reviewer"),
    Case("projects:evaluation:triage-summary", {"get": None}, {"set_id": _id("triage_set")}, control="reviewer"),
    # No project in these URLs: the object's own project decides.
    Case("projects:generation-batch", {"get": None}, {"batch_id": _id("batch")}),
    Case("token-revoke", {"post": None}, {"token_id": _id("token")}, control="labeler"),
]
# fmt: on

CASES = {case.name: case for case in [*API_CASES, *WEB_CASES]}
