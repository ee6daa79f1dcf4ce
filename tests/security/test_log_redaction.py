"""No API token in any log: tokens are refused in query strings, and the access logs of gunicorn
(as the Dockerfile runs it) and of runserver redact credential-looking query values anyway."""

import json
import re
import subprocess
import sys

import httpx
import pytest

from labelhub.accounts.services import api_token_create
from labelhub.core.logging import redact
from tests.factories import UserFactory

from ..processes import ROOT, _start, free_port, require_services, start_gunicorn, stop

SECRET_QUERY = "token={key}&access_token=s3cr3t-value&apiKey=k3y-value&%74oken=enc0ded-value&page=2"


def _dockerfile_log_args() -> list[str]:
    """The production command's logging options (Dockerfile CMD), so this test runs what ships."""
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    return [arg for arg in json.loads(cmd.group(1)) if arg.startswith(("--access-log", "--logger-class"))]


def _assert_redacted(log: str, key: str) -> None:
    assert "/api/v1/me?" in log, log[-2000:]  # the request was logged …
    for secret in (key, "s3cr3t-value", "k3y-value", "enc0ded-value"):
        assert secret not in log, log[-2000:]  # … without any credential in it
    assert "token=[redacted]" in log and "page=2" in log


@pytest.mark.django_db
def test_tokens_are_not_accepted_in_query_strings(client):
    _token, key = api_token_create(user=UserFactory(), name="q")
    assert client.get(f"/api/v1/me?token={key}").status_code in (401, 403)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_redact_masks_credential_query_parameters_and_keeps_the_rest():
    line = "GET /api/v1/x?" + SECRET_QUERY.format(key="lh_abc") + "&assignment=7&author=bob HTTP/1.1"
    assert redact(line) == (
        "GET /api/v1/x?token=[redacted]&access_token=[redacted]&apiKey=[redacted]&%74oken=[redacted]"
        "&page=2&assignment=7&author=bob HTTP/1.1"
    )
    assert redact("session_id=abc&sort=name") == "session_id=[redacted]&sort=name"  # a bare query string


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_access_log_redacts_tokens(tmp_path):
    require_services()
    _token, key = api_token_create(user=UserFactory(), name="leaky script")
    server = start_gunicorn(tmp_path, extra_args=_dockerfile_log_args())
    try:
        response = httpx.get(
            f"{server.url}/api/v1/me?{SECRET_QUERY.format(key=key)}",
            headers={"Referer": f"https://app.example/x?token={key}"},
            timeout=10,
        )
        assert response.status_code in (401, 403)  # a token in the query string is no credential
    finally:
        stop(server)
    _assert_redacted(server.log.read_text(), key)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_runserver_access_log_redacts_tokens(tmp_path):
    require_services()
    _token, key = api_token_create(user=UserFactory(), name="leaky script")
    port = free_port()
    log = tmp_path / "runserver.log"

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    args = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = _start(args, log, ready)
    try:
        httpx.get(f"http://127.0.0.1:{port}/api/v1/me?{SECRET_QUERY.format(key=key)}", timeout=10)
    finally:
        stop(server)
    _assert_redacted(log.read_text(), key)


def test_the_production_command_uses_the_redacting_logger():
    assert "--logger-class=labelhub.core.gunicorn_logging.RedactingLogger" in _dockerfile_log_args()
    assert subprocess.run([sys.executable, "-c", "import labelhub.core.gunicorn_logging"], cwd=ROOT).returncode == 0


def test_gunicorn_error_log_is_redacted_too(tmp_path):
    """A request that crashes a worker is logged as "Error handling request <uri>" on the error log."""
    from gunicorn.config import Config

    from labelhub.core.gunicorn_logging import RedactingLogger

    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    logger = RedactingLogger(cfg)
    logger.setup(cfg)  # a configuration reload runs it again: one filter, not two
    assert sum(type(f).__name__ == "RedactSecretsFilter" for f in logger.error_log.filters) == 1
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("Error handling request %s", "/api/v1/me?access_token=s3cr3t-value&page=2")
    for handler in logger.error_log.handlers:
        handler.flush()
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request /api/v1/me?access_token=[redacted]&page=2" in text
    assert "s3cr3t-value" not in text
