from django.db.models import QuerySet

from .models import ApiToken, SetPasswordLink, User, hash_token


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's API tokens, newest first, revoked ones included (never the key)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def set_password_link_by_token(*, token: str) -> SetPasswordLink | None:
    """The link whose plaintext token this is (looked up by its SHA-256), used or not, with its user."""
    return SetPasswordLink.objects.select_related("user").filter(token_hash=hash_token(token)).first()
