from datetime import timedelta

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from labelhub.core.rawsql import Columns, instances

from .models import ApiToken, User, hash_token

# last_used_at is refreshed at most this often, so reads stay reads.
_TOUCH_EVERY = timedelta(minutes=1)

# Every API request runs this: written out (see core/rawsql.py), a live token and its user.
_TOKEN_COLUMNS = Columns(ApiToken, "t"), Columns(User, "u")
_KEY_LOOKUP_SQL = """
SELECT {}, {} FROM accounts_apitoken t JOIN accounts_user u ON u.id = t.user_id
WHERE t.key_hash = %s AND t.revoked_at IS NULL
"""


def _live_token(key: str) -> ApiToken | None:
    with connection.cursor() as cursor:
        cursor.execute(_KEY_LOOKUP_SQL.format(*_TOKEN_COLUMNS), [hash_token(key)])
        row = cursor.fetchone()
    if row is None:
        return None
    token, user = instances(row, *_TOKEN_COLUMNS)
    token.user = user
    return token


class HashedTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>`; the key is looked up by its SHA-256, never stored or logged."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        token = _live_token(key)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
