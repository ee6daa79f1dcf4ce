"""Apps import in one direction: core → accounts → projects → prompts → generation, labeling → quality →
evaluation → exports.

A module may import from its own app and from the apps below it. `integrations` sits beside core (no domain);
`api` is the HTTP layer on top, except its request helpers (`api.utils`, `api.fields`, `api.pagination`),
which every app's API module uses and which import nothing above core. KNOWN_EXCEPTIONS is empty and must stay
so; the test fails on any import against the order (docs/DEVELOPING.md says what to do instead).
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
    "evaluation": 6,
    "exports": 7,
    "api": 8,
}
# HTTP helpers with no domain: input validation, id fields and pagination, imported by every app's apis.py.
INFRASTRUCTURE = {"labelhub.api.utils", "labelhub.api.pagination", "labelhub.api.fields"}

# Modules that wire every app together, like settings and urls: the demo loader.
COMPOSITION_ROOTS = {"labelhub.core.management.commands.seed_demo"}

# (importing module, imported module) pairs against the order, to be removed (see docs/DEVELOPING.md).
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _rank(module: str) -> int | None:
    if module in INFRASTRUCTURE:
        return 0
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "labelhub":
        return None
    return RANK.get(parts[1])


def _imports(path: Path, root: Path = ROOT):
    """Every module `path` imports, at the top or inside a function; relative imports resolved
    (`from ..quality import views` in labelhub/prompts/views.py is labelhub.quality)."""
    module = _module_name(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1])
            if node.module:
                yield f"{base}.{node.module}"
            else:
                yield from (f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _called(node) in ("include", "import_module") and node.args:
            yield from _dotted_strings(node.args[0])  # include("labelhub.quality.urls") imports it too


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _dotted_strings(arg: ast.expr):
    """The module named by include()'s or import_module()'s first argument: "labelhub.x.urls", or the
    first item of include()'s (module, app_name) tuple."""
    if isinstance(arg, ast.Tuple) and arg.elts:
        arg = arg.elts[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("labelhub."):
        yield arg.value


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


def test_relative_imports_count_too(tmp_path):
    """A relative import that climbs into another app is read as the absolute import it is."""
    app = tmp_path / "labelhub" / "prompts"
    app.mkdir(parents=True)
    (app / "views.py").write_text(
        "from ..quality.views import gold_card\nfrom .. import exports\nfrom . import selectors\n"
    )
    found = set(_imports(app / "views.py", root=tmp_path))
    assert found == {"labelhub.quality.views", "labelhub.exports", "labelhub.prompts.selectors"}


def test_url_includes_count_too(tmp_path):
    """include("labelhub.quality.urls") in an app's urls module routes (and imports) that app."""
    app = tmp_path / "labelhub" / "projects"
    app.mkdir(parents=True)
    (app / "urls.py").write_text(
        "from django.urls import include, path\n"
        'urlpatterns = [path("q/", include("labelhub.quality.urls")),\n'
        '               path("e/", include(("labelhub.exports.urls", "e")))]\n'
    )
    found = set(_imports(app / "urls.py", root=tmp_path))
    assert {"labelhub.quality.urls", "labelhub.exports.urls"} <= found


def test_known_exceptions_are_still_needed():
    gone = KNOWN_EXCEPTIONS - _violations()
    assert not gone, "remove these from KNOWN_EXCEPTIONS, they no longer exist:\n" + "\n".join(
        f"  {a} imports {b}" for a, b in sorted(gone)
    )
