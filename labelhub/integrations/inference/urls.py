"""Server-side request forgery guard for operator-supplied inference URLs.

A model config's base URL may not point at loopback, private, link-local or otherwise internal
addresses unless its host is in settings.INFERENCE_ALLOWED_HOSTS (the embedded backend is, by
default). Checked when a config is saved and again before every request (DNS can change).
"""

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeURLError(ValueError):
    pass


# What a URL may hold unencoded (RFC 3986 unreserved, reserved and "%"): no spaces, quotes, angle
# brackets, backslashes or control characters, which no real server URL needs and markup tricks do.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def _is_internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    flags = [ip.is_private, ip.is_loopback, ip.is_link_local, ip.is_multicast, ip.is_reserved, ip.is_unspecified]
    if isinstance(ip, ipaddress.IPv6Address):
        flags.append(ip.is_site_local)
    return any(flags)


def check_base_url(url: str, *, resolve: bool = True) -> str:
    """Return the normalised base URL (no trailing slash) or raise UnsafeURLError."""
    if not isinstance(url, str) or len(url) > 500:
        raise UnsafeURLError("The base URL must be a string of at most 500 characters.")
    if not _URL_CHARS.fullmatch(url.strip()):
        raise UnsafeURLError(
            "The base URL holds characters a URL cannot (spaces, quotes, <, >, \\): percent-encode them."
        )
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError("The base URL must start with http:// or https://.")
    if not parts.hostname:
        raise UnsafeURLError("The base URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURLError("Put credentials in the API key field, not in the URL.")
    if parts.query or parts.fragment:
        raise UnsafeURLError("The base URL must not have a query string or fragment.")
    host = parts.hostname.lower()
    allowed = {h.lower() for h in settings.INFERENCE_ALLOWED_HOSTS}
    if host not in allowed and "*" not in allowed:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        addresses = [literal] if literal else []
        if literal is None and resolve:
            try:
                infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
            except socket.gaierror as exc:
                raise UnsafeURLError(f"Cannot resolve {host}.") from exc
            addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        if host in ("localhost",) or any(_is_internal(ip) for ip in addresses):
            raise UnsafeURLError(f"{host} is an internal address; an operator must add it to INFERENCE_ALLOWED_HOSTS.")
    return url.strip().rstrip("/")
