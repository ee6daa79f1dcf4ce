"""The production docker-compose.yml stays valid and keeps its shape."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"


def test_docker_compose_config_validates():
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose binary not installed (scripts/with-services.sh installs it)")
    # SECRET_KEY is mandatory in the compose file; give it a value so only real errors fail.
    env = {**os.environ, "SECRET_KEY": "compose-config-test-only"}
    result = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr or result.stdout


def test_compose_services_and_redis_persistence():
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed")
    config = yaml.safe_load(COMPOSE_FILE.read_text())
    services = config["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "inference", "migrate"} <= set(services)
    # Work isolation: generation has its own (thread) pool; checks and reapers theirs.
    queues = {name: services[name]["command"][services[name]["command"].index("-Q") + 1] for name in services
              if name.startswith("worker")}  # fmt: skip
    assert queues == {"worker": "default,imports,exports", "worker-inference": "inference", "worker-fast": "fast"}
    assert "threads" in services["worker-inference"]["command"]

    redis_command = services["redis"]["command"]
    if isinstance(redis_command, str):
        redis_command = redis_command.split()
    assert "--appendonly" in redis_command
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"

    for name in ("web", "worker", "worker-inference", "worker-fast"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully"
        assert depends_on["postgres"]["condition"] == "service_healthy"
        assert services[name]["environment"]["DEBUG"] == "false"
