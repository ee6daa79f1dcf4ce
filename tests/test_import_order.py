"""Apps import in one direction: core → accounts → projects → prompts → generation, labeling → quality → exports.

A module may import from its own app and from the apps below it. `integrations` sits beside core (no domain);
`api` is the HTTP layer on top, except its request helpers (`api.utils`, `api.fields`, `api.pagination`),
which every app's API module uses and which import nothing above core. The few imports against the order that
exist today are listed in KNOWN_EXCEPTIONS; the test fails on any new one, and on a listed one that is gone (so
the list only shrinks). Removing them is tracked in docs/DEVELOPING.md.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "labelhub"

RANK = {
    "core": 0,
    "integrations": 0,
    "accounts": 1,
    "projects": 2,
    "prompts": 3,
    "generation": 4,
    "labeling": 4,
    "quality": 5,
    "exports": 6,
    "api": 7,
}
# HTTP helpers with no domain: input validation, id fields and pagination, imported by every app's apis.py.
INFRASTRUCTURE = {"labelhub.api.utils", "labelhub.api.pagination", "labelhub.api.fields"}

# Modules that wire every app together, like settings and urls: the demo loader.
COMPOSITION_ROOTS = {"labelhub.core.management.commands.seed_demo"}

# (importing module, imported module) pairs against the order, to be removed (see docs/DEVELOPING.md).
KNOWN_EXCEPTIONS = {
    # the profile API lists the user's projects
    ("labelhub.accounts.apis", "labelhub.projects.selectors"),
    # project pages: prompt counts, and the model-config pages routed under a project
    ("labelhub.projects.views", "labelhub.prompts.selectors"),
    ("labelhub.projects.urls", "labelhub.generation"),
    # the prompt page shows model configs and the gold card; an import queues the work-item sync
    ("labelhub.prompts.views", "labelhub.generation.selectors"),
    ("labelhub.prompts.views", "labelhub.quality.views"),
    ("labelhub.prompts.services", "labelhub.labeling.tasks"),
    # labeling ↔ quality: quarantine and the disagreement check on submit
    ("labelhub.labeling.services", "labelhub.quality.models"),
    ("labelhub.labeling.selectors", "labelhub.quality.models"),
    ("labelhub.labeling.services", "labelhub.quality.services"),
    # quality reads exports' helpers (consistent_read, ranking_pairs): they belong in core / a vocabulary module
    ("labelhub.quality.stats", "labelhub.exports.selectors"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _rank(module: str) -> int | None:
    if module in INFRASTRUCTURE:
        return 0
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "labelhub":
        return None
    return RANK.get(parts[1])


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _violations():
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = _module_name(path)
        own = _rank(module)
        if own is None or module in COMPOSITION_ROOTS:  # labelhub.settings, .urls, .celery and the demo loader
            continue
        own_app = module.split(".")[1]
        for imported in _imports(path):
            target = _rank(imported)
            if target is None or imported.split(".")[1] == own_app:
                continue
            if target > own or (target == own and target != 0):
                found.add((module, imported))
    return found


def test_apps_import_only_downwards():
    new = _violations() - KNOWN_EXCEPTIONS
    assert not new, "imports against the app order (see docs/DEVELOPING.md):\n" + "\n".join(
        f"  {a} imports {b}" for a, b in sorted(new)
    )


def test_known_exceptions_are_still_needed():
    gone = KNOWN_EXCEPTIONS - _violations()
    assert not gone, "remove these from KNOWN_EXCEPTIONS, they no longer exist:\n" + "\n".join(
        f"  {a} imports {b}" for a, b in sorted(gone)
    )
