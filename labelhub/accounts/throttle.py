"""Failure counters in the cache for what django-axes does not cover (axes throttles logins only):
unknown set-password links opened from one address, accounts an admin tries to create under names
already in use. `limit` failures within `window` lock the key out until the window has passed."""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache


class Throttle:
    def __init__(self, name: str, *, limit, window: timedelta):
        self.name, self._limit, self.window = name, limit, window

    @property
    def limit(self) -> int:
        return self._limit() if callable(self._limit) else self._limit

    def _key(self, who: str) -> str:
        return f"throttle:{self.name}:{who}"

    def blocked(self, who: str) -> bool:
        return (cache.get(self._key(who)) or 0) >= self.limit

    def fail(self, who: str) -> None:
        key = self._key(who)
        if cache.add(key, 1, timeout=int(self.window.total_seconds())):
            return
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=int(self.window.total_seconds()))

    def reset(self, who: str) -> None:
        cache.delete(self._key(who))


def _link_limit() -> int:
    return settings.SET_PASSWORD_LINK_FAILURE_LIMIT


# Opening unknown set-password links, per client address.
LINK_FAILURES = Throttle("set-password-link", limit=_link_limit, window=timedelta(minutes=15))
# Account creations refused because the name or address is in use, per admin (each refusal says a name exists).
ACCOUNT_NAME_PROBES = Throttle("account-name-probe", limit=20, window=timedelta(hours=1))
