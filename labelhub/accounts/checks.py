"""`check --deploy`: behind a TLS proxy without TRUSTED_PROXIES, lockouts key on the proxy's address."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def trusted_proxies_check(app_configs, **kwargs):
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and not settings.TRUSTED_PROXIES:
        return [
            checks.Warning(
                "USE_X_FORWARDED_PROTO is on (a proxy in front) but TRUSTED_PROXIES is empty: every client has "
                "the proxy's address, so five wrong passwords from anyone lock a username out for everyone.",
                hint="Set TRUSTED_PROXIES to the proxy's address or network (docs/OPERATIONS.md, Client addresses).",
                id="accounts.W001",
            )
        ]
    return []
