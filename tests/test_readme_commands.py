"""The README's shell commands work as written after `make run`, in a new shell with no environment.

`make run` writes .env (DEBUG=true, a generated SECRET_KEY) that labelhub.settings reads; before, a
new shell had no DEBUG and `manage.py create_api_token admin` died with "SECRET_KEY must be set"."""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bash(script: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    clean = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=clean, capture_output=True, text=True, timeout=300
    )  # fmt: skip


def _write_env_file(path: Path) -> None:
    lib = shlex.quote(str(ROOT / "scripts/lib.sh"))
    result = _bash(f". {lib} && ensure_local_env_file", ROOT, LABELHUB_ENV_FILE=str(path))
    assert result.returncode == 0, result.stderr


def readme_manage_commands() -> list[str]:
    """Every README command line that runs manage.py from the repository (continuations joined)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [
        line.split("  #")[0].strip() for line in lines if re.match(r"^(TOKEN=\$\()?\.venv/bin/python manage\.py", line)
    ]


def test_make_run_env_file_has_a_generated_key_only_its_owner_reads(tmp_path):
    env_file = tmp_path / ".env"
    _write_env_file(env_file)
    text = env_file.read_text()
    assert re.search(r"^DEBUG=true$", text, re.M)
    key = re.search(r"^SECRET_KEY=(\S+)$", text, re.M).group(1)
    assert len(key) >= 50
    assert env_file.stat().st_mode & 0o077 == 0
    env_file.write_text("DEBUG=false\n")  # the user's own file is never rewritten
    _write_env_file(env_file)
    assert env_file.read_text() == "DEBUG=false\n"


@pytest.mark.slow
def test_readme_manage_py_commands_work_in_a_new_shell_after_make_run_setup(tmp_path):
    """The same setup as `make run` (its .env, migrate, the demo), then each README manage.py command
    in a shell whose environment has nothing but PATH and HOME, plus where this test keeps its files
    (the env file, a SQLite database and media under tmp_path instead of the repository's)."""
    commands = readme_manage_commands()
    assert any("create_api_token admin" in c for c in commands) and len(commands) >= 4, commands
    for name in (".venv", "manage.py"):  # the commands' relative paths; files they write land in tmp_path
        (tmp_path / name).symlink_to(ROOT / name)
    places = {
        "LABELHUB_ENV_FILE": str(tmp_path / ".env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    before = _bash(".venv/bin/python manage.py check", tmp_path, **places)
    assert before.returncode != 0 and "SECRET_KEY must be set" in before.stderr  # no .env yet: the old failure

    _write_env_file(tmp_path / ".env")
    setup = _bash(".venv/bin/python manage.py migrate -v0 && .venv/bin/python manage.py seed_demo", tmp_path, **places)
    assert setup.returncode == 0, setup.stderr[-3000:]
    for command in commands:
        result = _bash(f'set -euo pipefail; {command}; echo "token=${{TOKEN:-}}"', tmp_path, **places)
        assert result.returncode == 0, (command, result.stderr[-3000:])
        if command.startswith("TOKEN="):
            assert re.search(r"^token=lh_[\w-]{20,}$", result.stdout, re.M), result.stdout
    assert (tmp_path / "test.jsonl").exists()  # export ... -o test.jsonl wrote where the user stands


def test_make_run_listens_on_this_machine_only_unless_told():
    """A static check of scripts/run.sh (it served the DEBUG site on 0.0.0.0 with the default key);
    `ss -ltn` during a real `make run` showed 127.0.0.1:PORT."""
    script = (ROOT / "scripts/run.sh").read_text()
    assert re.search(r"^HOST=\$\{HOST:-127\.0\.0\.1\}$", script, re.M)
    runserver = [line for line in script.splitlines() if "manage.py runserver" in line and not line.startswith("#")]
    assert runserver == ['start_bg web "$PY" manage.py runserver "$ADDR:$PORT"'], runserver
    assert "0.0.0.0:" not in script.replace("HOST=0.0.0.0", "")
