"""Inference API keys are encrypted at rest: a database dump does not hold them."""

import logging

import pytest
from django.core.management import call_command
from django.db import connection

from labelhub.core import crypto
from labelhub.generation import services
from labelhub.generation.models import ModelConfig


def _stored(config) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM generation_modelconfig WHERE id = %s", [config.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def config(project):
    return services.model_config_create(
        project=project,
        data={"name": "c", "base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "sk-live-0123456789"},
    )


@pytest.mark.django_db
def test_the_key_is_encrypted_in_the_database_and_plain_in_python(config):
    stored = _stored(config)
    assert stored.startswith(crypto.PREFIX) and "sk-live" not in stored and "0123456789" not in stored
    assert ModelConfig.objects.get(pk=config.pk).api_key == "sk-live-0123456789"
    # Randomised: the same key twice is stored differently (no equality leak between configs).
    other = services.model_config_create(
        project=config.project,
        data={"name": "d", "base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "sk-live-0123456789"},
    )
    assert _stored(other) != stored
    # Cleared keys are empty, not an encrypted empty string.
    services.model_config_clear_api_key(config=config)
    assert _stored(config) == "" and ModelConfig.objects.get(pk=config.pk).api_key == ""


@pytest.mark.django_db
def test_secret_key_rotation_with_fallbacks_then_re_encryption(config, settings, caplog):
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-brand-new-secret-key-" + "n" * 40, [old]
    assert ModelConfig.objects.get(pk=config.pk).api_key == "sk-live-0123456789"  # the fallback opens it
    call_command("encrypt_secrets", stdout=__import__("io").StringIO())
    settings.SECRET_KEY_FALLBACKS = []
    assert ModelConfig.objects.get(pk=config.pk).api_key == "sk-live-0123456789"  # the new key alone opens it
    # Without the key that encrypted it: read as "" with a clear error, never a crash or a 500.
    settings.SECRET_KEY = "yet-another-key-" + "y" * 40
    with caplog.at_level(logging.ERROR, logger="labelhub.core.crypto"):
        assert ModelConfig.objects.get(pk=config.pk).api_key == ""
    assert "SECRET_KEY_FALLBACKS" in caplog.text and "sk-live" not in caplog.text


@pytest.mark.django_db
def test_keys_stored_in_plaintext_before_are_read_then_encrypted(config):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE generation_modelconfig SET api_key = %s WHERE id = %s", ["sk-legacy", config.pk])
    assert ModelConfig.objects.get(pk=config.pk).api_key == "sk-legacy"
    call_command("encrypt_secrets", stdout=__import__("io").StringIO())
    assert _stored(config).startswith(crypto.PREFIX)
    assert ModelConfig.objects.get(pk=config.pk).api_key == "sk-legacy"
