import logging

import pytest
from django.core.management import call_command

from labelhub.accounts.models import ApiToken, hash_token
from labelhub.accounts.services import api_token_create, api_token_revoke
from labelhub.core.logging import redact
from tests.factories import UserFactory


@pytest.mark.django_db
def test_token_is_stored_hashed_and_works(api):
    user = UserFactory()
    token, key = api_token_create(user=user, name="laptop")
    assert key.startswith("lh_") and len(key) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hash_token(key)
    assert key not in {stored.key_hash, stored.key_prefix, stored.name}
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me").json()["username"] == user.username
    stored.refresh_from_db()
    assert stored.last_used_at is not None


@pytest.mark.django_db
def test_revoked_token_is_refused():
    from rest_framework.test import APIClient

    user = UserFactory()
    token, key = api_token_create(user=user, name="old")
    api_token_revoke(user=user, token_id=token.pk)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.django_db
def test_cannot_revoke_someone_elses_token():
    from labelhub.core.exceptions import NotFound

    owner, other = UserFactory(), UserFactory()
    token, _ = api_token_create(user=owner, name="mine")
    with pytest.raises(NotFound):
        api_token_revoke(user=other, token_id=token.pk)
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.django_db
def test_create_api_token_command_prints_key_alone_on_last_line(capsys):
    user = UserFactory(username="ml-engineer")
    call_command("create_api_token", "ml-engineer", "--name", "ci")
    out = capsys.readouterr().out
    key = out.strip().splitlines()[-1]
    assert key.startswith("lh_") and " " not in key
    assert ApiToken.objects.get(user=user).key_hash == hash_token(key)


@pytest.mark.django_db
def test_token_never_reaches_the_logs(caplog, api, settings):
    """A failing request with a token, logged by django.request, must not carry the key."""
    user = UserFactory()
    _token, key = api_token_create(user=user, name="t")
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    handler_records = []

    class Capture(logging.Handler):
        def emit(self, record):
            handler_records.append(self.format(record))

    from labelhub.core.logging import RedactSecretsFilter

    capture = Capture()
    capture.addFilter(RedactSecretsFilter())
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        client.get(f"/api/v1/projects/999999?token={key}")
        logging.getLogger("labelhub.test").warning("client sent Authorization: Token %s", key)
    finally:
        root.removeHandler(capture)
    assert handler_records, "expected at least one log line"
    assert all(key not in line for line in handler_records)


def test_redact_masks_token_shapes():
    key = "lh_" + "A" * 43
    for text in (f"Token {key}", f"Bearer {key}", f"?token={key}&x=1", f"api_key={key}", f"saw {key} here"):
        assert key not in redact(text)
