"""Production static files: `collectstatic` with the DEBUG-off storage stores the workbench's ES
modules under hashed names, and every relative module import names its sibling's hashed file
(otherwise a browser loads main.<hash>.js, then 404s on "./api.js", or on a stale cached copy)."""

import json
import re
from pathlib import Path

from django.conf import settings as django_settings
from django.core.management import call_command

PRODUCTION_STORAGE = "labelhub.core.staticfiles.ModuleManifestStaticFilesStorage"
IMPORT = re.compile(r'^import \{[^}]*\} from "\./([\w.-]+)";$', re.M)
SOURCE = Path(django_settings.BASE_DIR) / "static" / "js" / "workbench"


def collect(settings, root: Path) -> dict[str, str]:
    """Run collectstatic into `root` with the production storage; the manifest's {name: hashed name}."""
    settings.DEBUG = False
    settings.STATIC_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    call_command("collectstatic", interactive=False, verbosity=0)
    return json.loads((root / "staticfiles.json").read_text())["paths"]


def test_the_production_storage_rewrites_imports_in_our_modules_only():
    from labelhub.core.staticfiles import ES_MODULES, ModuleManifestStaticFilesStorage

    globs = [glob for glob, _ in ModuleManifestStaticFilesStorage.patterns]
    assert ES_MODULES in globs
    assert "*.js" in globs  # Django's own (sourceMappingURL), unchanged
    assert PRODUCTION_STORAGE.endswith(ModuleManifestStaticFilesStorage.__name__)


def test_collectstatic_rewrites_module_imports_to_hashed_names(settings, tmp_path):
    paths = collect(settings, tmp_path)
    modules = sorted(p.name for p in SOURCE.glob("*.js"))
    assert "main.js" in modules and len(modules) >= 8
    hashed = {name: paths[f"js/workbench/{name}"] for name in modules}
    for name, stored in hashed.items():
        assert re.fullmatch(rf"js/workbench/{re.escape(name[:-3])}\.[0-9a-f]{{12}}\.js", stored), stored
        text = (tmp_path / stored).read_text()
        imported = IMPORT.findall((SOURCE / name).read_text())
        for sibling in imported:
            sibling_hashed = Path(hashed[sibling]).name
            assert f'from "./{sibling_hashed}";' in text, (name, sibling)
            assert f'from "./{sibling}";' not in text, (name, sibling)
    main = (tmp_path / hashed["main.js"]).read_text()
    for sibling in ("state.js", "dom.js", "keyboard.js", "dialogs.js", "drafts.js", "task.js"):
        assert f'from "./{Path(hashed[sibling]).name}";' in main, sibling
    # The entry's imports, hashed, are all files that exist (and whitenoise compressed them).
    for sibling in IMPORT.findall(main):
        assert (tmp_path / "js" / "workbench" / sibling).is_file(), sibling
    assert (tmp_path / (hashed["main.js"] + ".gz")).is_file()
    # The old classic script is gone.
    assert "js/workbench.js" not in paths


def test_the_workbench_modules_import_each_other_without_a_cycle():
    """A cycle makes hashed names impossible (each file's hash would contain the other's):
    collectstatic fails with "Max post-process passes exceeded". Modules talk back through events."""
    graph = {p.name: IMPORT.findall(p.read_text()) for p in SOURCE.glob("*.js")}
    assert graph["main.js"]

    def walk(name, path):
        assert name not in path, " → ".join([*path, name])
        for sibling in graph[name]:
            assert sibling in graph, f"{name} imports a missing module {sibling}"
            walk(sibling, [*path, name])

    for name in graph:
        walk(name, [])


def test_the_modules_use_let_and_const_and_never_inner_html():
    for path in SOURCE.glob("*.js"):
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
        assert not re.search(r"\bvar\s", code), path.name
        assert "innerHTML" not in code and "insertAdjacentHTML" not in code, path.name
