from django.db import transaction
from django.utils import timezone

from labelhub.core.exceptions import ApplicationError, NotFound

from .models import ApiToken, User, generate_token_key, hash_token


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; return it with its plaintext key, which is never retrievable again."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A token needs a name.", extra={"fields": {"name": ["This field is required."]}})
    if len(name) > 100:
        raise ApplicationError("Token names are at most 100 characters.")
    key = generate_token_key()
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_token(key), key_prefix=key[:10])
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound("Token not found.")
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        token.refresh_from_db()
    return token
