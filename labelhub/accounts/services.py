import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from labelhub.core.exceptions import ApplicationError, Conflict, NotFound

from .models import SET_PASSWORD_LINK_HOURS, ApiToken, SetPasswordLink, User, generate_token_key, hash_token

logger = logging.getLogger(__name__)


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


# Accounts created by a project admin, and their one-time set-password links ---------------------------

_USERNAME_VALIDATOR = User.username_validator


def _clean_new_account(username: str, email: str) -> tuple[str, str]:
    username, email = (username or "").strip(), (email or "").strip()
    errors = {}
    try:
        if not username:
            raise ValidationError("This field is required.")
        if len(username) > 150:
            raise ValidationError("At most 150 characters.")
        _USERNAME_VALIDATOR(username)
    except ValidationError as exc:
        errors["username"] = exc.messages
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            errors["email"] = exc.messages
    if errors:
        raise ApplicationError("The new account's details are not valid.", extra={"fields": errors})
    return username, email


@transaction.atomic
def user_create_invited(*, username: str, email: str = "") -> User:
    """A new active account without a usable password: its owner chooses one with a set-password link.
    A username or e-mail address that an account already has is refused (one answer for both)."""
    username, email = _clean_new_account(username, email)
    taken = User.objects.filter(username__iexact=username)
    if email:
        taken = taken | User.objects.filter(email__iexact=email)
    if taken.exists():
        raise Conflict(
            "That username or e-mail address is already in use. Add the person by their username if they share "
            "a project with you, or choose another username.",
            extra={"fields": {"username": ["Already in use."]}},
        )
    try:
        with transaction.atomic():
            user = User(username=username, email=email)
            user.set_unusable_password()
            user.save()
    except IntegrityError as exc:  # a concurrent request took the name
        raise Conflict("That username is already in use.", extra={"fields": {"username": ["Already in use."]}}) from exc
    return user


@transaction.atomic
def set_password_link_create(
    *, user: User, created_by: User | None, next_path: str = ""
) -> tuple[SetPasswordLink, str]:
    """A one-time link for `user`; returns it with its plaintext token (never retrievable again). The
    user's older unused links stop working."""
    now = timezone.now()
    SetPasswordLink.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    token = secrets.token_urlsafe(32)
    link = SetPasswordLink.objects.create(
        user=user,
        token_hash=hash_token(token),
        created_by=created_by,
        expires_at=now + timedelta(hours=SET_PASSWORD_LINK_HOURS),
        next_path=next_path[:200],
    )
    return link, token


class LinkState:
    VALID, USED, EXPIRED, UNKNOWN = "valid", "used", "expired", "unknown"


def set_password_link_state(link: SetPasswordLink | None) -> str:
    if link is None or not link.user.is_active:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.USED
    if link.expires_at <= timezone.now():
        return LinkState.EXPIRED
    return LinkState.VALID


@transaction.atomic
def set_password_link_use(*, token: str, password1: str, password2: str) -> SetPasswordLink:
    """Set the link's user's password (Django's validators) and spend the link. Refused, with the reason
    as `extra["state"]`, when the link is unknown, used or expired (checked under a row lock, so a link
    is spent once even by two requests at the same time)."""
    link = (
        SetPasswordLink.objects.select_for_update().select_related("user").filter(token_hash=hash_token(token)).first()
    )
    state = set_password_link_state(link)
    if state != LinkState.VALID:
        raise NotFound("This link is not valid.", extra={"state": state})
    errors = {}
    if password1 != password2:
        errors["password2"] = ["The two passwords differ."]
    else:
        try:
            password_validation.validate_password(password1, link.user)
        except ValidationError as exc:
            errors["password1"] = exc.messages
    if errors:
        raise ApplicationError("Choose another password.", extra={"fields": errors})
    link.user.set_password(password1)
    link.user.save(update_fields=["password"])
    link.used_at = timezone.now()
    link.save(update_fields=["used_at", "updated_at"])
    return link


def set_password_link_email(*, user: User, url: str, project_name: str) -> bool:
    """E-mail the link when an SMTP server is configured (EMAIL_HOST) and the user has an address.
    Best effort: the admin has the link on screen anyway. Returns whether it was sent."""
    if not settings.EMAIL_HOST or not user.email:
        return False
    body = (
        f"You have been given an account on labelhub, in the project {project_name}.\n\n"
        f"Your username: {user.username}\n"
        f"Choose your password here (the link works once, for {SET_PASSWORD_LINK_HOURS} hours):\n{url}\n"
    )
    try:
        send_mail("Your labelhub account", body, None, [user.email])
    except Exception:
        logger.warning("set-password e-mail to user %s failed", user.pk, exc_info=True)
        return False
    return True
