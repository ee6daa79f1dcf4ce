"""Secrets stored in the database (inference API keys), encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from SECRET_KEY by HKDF, so a database dump
or backup alone does not give away the keys. Rotating SECRET_KEY: move the old value to
SECRET_KEY_FALLBACKS (Django's own setting), values still decrypt, and are re-encrypted with the
new key the next time they are saved (`manage.py encrypt_secrets` re-encrypts them all at once).

Stored values carry a prefix: a value without it is legacy plaintext (read as is, encrypted on the
next save)."""

import base64
import functools
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

logger = logging.getLogger(__name__)

PREFIX = "fernet1:"
_INFO = b"labelhub stored secrets v1"


def _fernet_key(secret: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"labelhub", info=_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


@functools.cache
def _fernet(secret_key: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in (secret_key, *fallbacks)])


def _current() -> MultiFernet:
    return _fernet(settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()) or ()))


def encrypt(value: str) -> str:
    if not value:
        return ""
    return PREFIX + _current().encrypt(value.encode()).decode()


class UndecryptableSecret(Exception):
    pass


def decrypt(stored: str) -> str:
    """The plaintext of a stored value; legacy plaintext as is. Raises UndecryptableSecret when no key
    in SECRET_KEY / SECRET_KEY_FALLBACKS opens it."""
    if not stored or not stored.startswith(PREFIX):
        return stored or ""
    try:
        return _current().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise UndecryptableSecret(
            "A stored secret cannot be decrypted: SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS."
        ) from exc


class EncryptedTextField(models.TextField):
    """A text column whose values are encrypted in the database and plain in Python.

    Not searchable or orderable (ciphertexts are randomised). A value that cannot be decrypted reads
    as "" with an error logged, so pages and workers keep working (the inference server will then
    refuse the request, which says what is wrong) instead of failing with a 500."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        try:
            return decrypt(value)
        except UndecryptableSecret as exc:
            logger.error("%s (%s.%s)", exc, self.model.__name__, self.name)
            return ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
