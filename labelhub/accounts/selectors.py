from django.db.models import QuerySet

from .models import ApiToken, User


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's API tokens, newest first, revoked ones included (never the key)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
