"""Runtime and dev dependencies in separate locks: the Docker image and `make run` install
requirements.lock, only what web, worker and beat import; `make test`, `make lint` and the benches
install requirements-dev.lock (the same pins plus the test, lint and bench tools)."""

import ast
import os
import re
import subprocess
import sys
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
DEV_TOOLS = {
    "pytest", "pytest-django", "pytest-playwright", "playwright", "factory-boy", "ruff", "locust", "datasets",
    "pandas", "scipy", "krippendorff", "bandit", "schemathesis", "hypothesis",
}  # fmt: skip
# Run by the image's commands (Dockerfile CMD, docker-compose.yml), not imported.
RUN_BY_IMAGE = {"gunicorn", "celery"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {_canonical(n): v for n, v in re.findall(r"^([A-Za-z0-9][\w.-]*)(?:\[[^\]]*\])?==(\S+)", text, re.M)}


def _dotted_settings() -> list[str]:
    rest = settings.REST_FRAMEWORK
    return [
        *settings.INSTALLED_APPS, *settings.MIDDLEWARE, *settings.AUTHENTICATION_BACKENDS,
        *rest["DEFAULT_AUTHENTICATION_CLASSES"], *rest["DEFAULT_PARSER_CLASSES"], rest["DEFAULT_SCHEMA_CLASS"],
        settings.CACHES["default"]["BACKEND"], settings.STORAGES["staticfiles"]["BACKEND"],
        "whitenoise.storage.CompressedManifestStaticFilesStorage", "django.db.backends.postgresql",
    ]  # fmt: skip


def _imported_modules() -> dict[str, str]:
    """Top-level module → one place that imports it, for every import under labelhub/ and every
    dotted path the settings name (apps, middleware, backends)."""
    found = {}
    for path in sorted((ROOT / "labelhub").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    for dotted in _dotted_settings():
        found.setdefault(dotted.split(".")[0], "labelhub/settings.py")
    return found


def test_runtime_lock_holds_no_dev_tool():
    runtime = set(_pins("requirements.lock"))
    assert not DEV_TOOLS & runtime
    assert runtime >= RUN_BY_IMAGE


def test_dev_lock_pins_the_runtime_packages_alike_and_adds_the_tools():
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: (pin, dev.get(name)) for name, pin in runtime.items() if dev.get(name) != pin} == {}
    assert set(dev) >= DEV_TOOLS


def test_every_import_under_labelhub_resolves_from_the_runtime_lock():
    owners = packages_distributions()
    runtime = set(_pins("requirements.lock"))
    missing = {}
    for module, where in _imported_modules().items():
        if module in sys.stdlib_module_names or module == "labelhub":
            continue
        if not {_canonical(d) for d in owners.get(module, [])} & runtime:
            missing[module] = where
    assert missing == {}, "imported by labelhub but not in requirements.lock"


def test_the_image_and_make_run_install_the_runtime_lock_only():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^RUN pip install -r requirements\.lock$", dockerfile, re.M)
    assert "requirements-dev.lock" not in re.sub(r"^#.*$", "", dockerfile, flags=re.M)
    assert re.search(r"^ensure_venv$", (ROOT / "scripts/run.sh").read_text(), re.M)
    assert re.search(r"^ensure_venv dev$", (ROOT / "scripts/test.sh").read_text(), re.M)


def _ensure_venv(root: Path, kind: str) -> str:
    result = subprocess.run(
        ["bash", "-c", f'. "{root}/scripts/lib.sh" && ensure_venv {kind}'],
        env={**os.environ, "PYTHON": sys.executable}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.mark.slow
def test_ensure_venv_stamp_records_which_lock_was_installed(tmp_path):
    """A copy of scripts/lib.sh in a scratch tree whose locks pin an installed package (pip finds it
    satisfied, offline); the venv is the running interpreter's."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts/lib.sh").write_text((ROOT / "scripts/lib.sh").read_text())
    (tmp_path / "requirements.lock").write_text(f"django=={version('django')}\n")
    (tmp_path / "requirements-dev.lock").write_text(f"django=={version('django')}\nruff=={version('ruff')}\n")
    (tmp_path / ".venv/bin").mkdir(parents=True)
    (tmp_path / ".venv/bin/python").symlink_to(sys.executable)
    stamp = tmp_path / ".venv/.requirements.stamp"

    assert "installing requirements.lock" in _ensure_venv(tmp_path, "runtime")
    assert stamp.read_text().startswith("requirements.lock ")
    assert "installing" not in _ensure_venv(tmp_path, "runtime")  # up to date
    assert "installing requirements-dev.lock" in _ensure_venv(tmp_path, "dev")  # the runtime stamp is not enough
    assert stamp.read_text().startswith("requirements-dev.lock ")
    assert "installing" not in _ensure_venv(tmp_path, "runtime")  # the dev lock covers the runtime one
    (tmp_path / "requirements-dev.lock").write_text(f"django=={version('django')}\n")
    assert "installing requirements-dev.lock" in _ensure_venv(tmp_path, "dev")  # a changed lock is installed
