"""Real processes for tests that need them: a Celery worker and a gunicorn server, both pointed at
the test database (the test must be transactional so they see its rows)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

from labelhub.celery import app

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def broker_ok() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001
        return False


def require_services() -> None:
    if connection.vendor != "postgresql" or not broker_ok():
        pytest.skip("needs PostgreSQL and Redis (make test)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(extra: dict | None = None) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "true", **(extra or {})}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def _start(args: list[str], log: Path, ready, timeout: float = 60, env: dict | None = None) -> subprocess.Popen:
    with open(log, "w") as out:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=_env(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.time() + timeout
    while not ready():
        if proc.poll() is not None or time.time() > deadline:
            stop(proc)
            pytest.fail(f"{args[2]} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    proc.log = log
    return proc


def start_worker(tmp_path: Path, queues: str, env: dict | None = None) -> subprocess.Popen:
    with app.connection_for_write() as conn:
        for queue in queues.split(","):
            with contextlib.suppress(Exception):  # the queue may not exist yet
                conn.default_channel.queue_purge(queue)
    log = tmp_path / "worker.log"
    args = [
        sys.executable, "-m", "celery", "-A", "labelhub", "worker", "-Q", queues, "-c", "1", "-P", "prefork",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
    ]  # fmt: skip
    return _start(args, log, lambda: log.exists() and "ready" in log.read_text(), env=env)


def compose_worker_commands() -> dict[str, list[str]]:
    """The Celery worker services of docker-compose.yml (name → worker arguments, ${VAR:-default}
    replaced by its default): tests start the same pools production runs."""
    import re

    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = {}
    for name, service in services.items():
        command = service.get("command") or []
        if command[:4] == ["celery", "-A", "labelhub", "worker"]:
            commands[name] = [re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", arg) for arg in command[4:]]
    return commands


def start_compose_workers(tmp_path: Path, env: dict | None = None) -> dict[str, subprocess.Popen]:
    """Every Celery worker docker-compose.yml runs (by service name), with its queues, pool and concurrency."""
    procs = {}
    try:
        for name, args in compose_worker_commands().items():
            queues = args[args.index("-Q") + 1]
            with app.connection_for_write() as conn:
                for queue in queues.split(","):
                    with contextlib.suppress(Exception):
                        conn.default_channel.queue_purge(queue)
            log = tmp_path / f"{name}.log"
            argv = [sys.executable, "-m", "celery", "-A", "labelhub", "worker", *args,
                    "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
            procs[name] = _start(argv, log, lambda log=log: log.exists() and "ready" in log.read_text(), env=env)
    except BaseException:
        for proc in procs.values():
            stop(proc)
        raise
    return procs


def start_beat(tmp_path: Path, env: dict | None = None) -> subprocess.Popen:
    """Celery beat with the production schedule (settings.CELERY_BEAT_SCHEDULE)."""
    log = tmp_path / "beat.log"
    args = [
        sys.executable, "-m", "celery", "-A", "labelhub", "beat", "-s", str(tmp_path / "beat-schedule"),
        "--pidfile=", "-l", "info",
    ]  # fmt: skip
    return _start(args, log, lambda: log.exists() and "Starting" in log.read_text(), env=env)


def start_gunicorn(tmp_path: Path, env: dict | None = None, extra_args: list[str] = ()) -> subprocess.Popen:
    """gunicorn as production runs it (gthread workers, so long streams are not killed)."""
    port = free_port()
    args = [
        sys.executable, "-m", "gunicorn", "labelhub.wsgi:application", f"--bind=127.0.0.1:{port}",
        "--worker-class=gthread", "--workers=1", "--threads=4", "--timeout=30", *extra_args,
    ]  # fmt: skip

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    proc = _start(args, tmp_path / "gunicorn.log", ready, env=env)
    proc.url = f"http://127.0.0.1:{port}"
    return proc


def stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for(predicate, timeout=60, what="condition", proc=None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    tail = proc.log.read_text()[-3000:] if proc is not None else ""
    pytest.fail(f"timed out waiting for {what}\n{tail}")


class PostgresServer:
    """A PostgreSQL cluster of the test's own, so a test can stop and restart it without touching
    the suite's database. Run as the `postgres` user when we are root (PostgreSQL refuses root)."""

    def __init__(self) -> None:
        import glob
        import shutil
        import tempfile

        bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not bindirs:
            pytest.skip("PostgreSQL server binaries are not installed")
        self.bin = Path(bindirs[-1])
        self.root = Path(tempfile.mkdtemp(prefix="labelhub-pg-"))
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgres://labelhub:labelhub@127.0.0.1:{self.port}/labelhub"
        self._run("initdb", "-D", str(self.data), "-U", "labelhub", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "labelhub", "labelhub")

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, cwd=self.root, check=True, capture_output=True)

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", *args)

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def load_from(self, source_url: str) -> None:
        """Copy a database (schema and rows) into this cluster's `labelhub` database."""
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url.replace("postgres://", "postgresql://")],
            input=dump, check=True, capture_output=True,
        )  # fmt: skip

    def destroy(self) -> None:
        import shutil

        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
