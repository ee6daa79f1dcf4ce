"""Server-side request forgery guard for operator-supplied inference URLs.

A model config's base URL may reach only global addresses (`ipaddress`'s is_global, and never an
IPv4 address hidden in IPv6: mapped, 6to4, NAT64), unless its exact host:port pair is listed in
settings.INFERENCE_ALLOWED_HOSTS (the embedded server's pair is, by default).

- `check_base_url` validates a URL fully (what httpx will parse, a numeric port in range, a plain
  host name or IP literal) and, with resolve=True, resolves it: used when a config is saved.
- `connect_addresses` is what the HTTP client connects through (client.GuardedBackend): it resolves
  the host once, checks every address and returns them, and the socket is opened to one of those
  addresses, never to a second lookup's answer (DNS rebinding). Called for every new connection of
  every request, connection checks and generation jobs alike.
"""

import ipaddress
import re
import socket
from urllib.parse import urlsplit

import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURLError(ValueError):
    pass


class InternalAddressError(UnsafeURLError):
    """The URL is well formed but reaches an internal address that is not allowed."""


class UnresolvableHostError(UnsafeURLError):
    pass


# What a URL may hold unencoded (RFC 3986 unreserved, reserved and "%"): no spaces, quotes, angle
# brackets, backslashes or control characters, which no real server URL needs and markup tricks do.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# A DNS name: letter/digit/hyphen(/underscore) labels, the last one not all digits (so "127.1" or "2130706433",
# which resolvers read as IPv4 addresses, are not names).
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"  # "_": docker compose service names have them
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)*(?=[a-z0-9_-]*[a-z_])(?:{_LABEL})\.?")
# What inet_aton reads as an IPv4 address although it is not dotted-decimal ("0x7f000001", "0177.1").
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Prefixes that carry an IPv4 address in their low 32 bits (NAT64 well-known and local-use).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def is_internal(ip: IPAddress) -> bool:
    """True unless the address is globally reachable (and hides no non-global IPv4 address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return is_internal(ip.ipv4_mapped)
        if ip in _SIX_TO_FOUR:  # 6to4 relays are deprecated (RFC 7526); 2002:7f00:1:: is loopback
            return True
        if any(ip in net for net in _NAT64):
            return is_internal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.teredo:
            return True
    return not ip.is_global or ip.is_multicast


def _parse_host(host: str) -> str:
    """The lower-cased host (an IPv6 literal without brackets), or UnsafeURLError."""
    host = host.lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _HOST_NAME.fullmatch(host) or _NUMERIC_HOST.fullmatch(host):
        raise UnsafeURLError(f"{host!r} is not a host name or IP address.")
    return host.rstrip(".")


def parse_allowed(entries) -> frozenset[tuple[str, int]]:
    """INFERENCE_ALLOWED_HOSTS as (host, port) pairs. Each entry is host:port ([v6]:port for IPv6);
    a bare host is refused (it used to open every port of that host)."""
    pairs = set()
    for entry in entries:
        entry = entry.strip()
        try:
            parts = urlsplit(f"//{entry}")
            port = parts.port
        except ValueError:
            parts, port = urlsplit(""), None
        if not entry or not parts.hostname or port is None or not 0 < port < 65536 or parts.path or "@" in entry:
            raise ValueError(
                f"INFERENCE_ALLOWED_HOSTS entry {entry!r} is not host:port (e.g. gpu-1.internal:8000, "
                "10.0.0.12:8000, [fd00::12]:8000): list each internal server's exact host and port."
            )
        try:
            pairs.add((_parse_host(parts.hostname), port))
        except UnsafeURLError as exc:
            raise ValueError(f"INFERENCE_ALLOWED_HOSTS entry {entry!r} is not host:port: {exc}") from exc
    return frozenset(pairs)


def allowed_hosts_setting(entries: list[str], base_url: str) -> list[str]:
    """settings.INFERENCE_ALLOWED_HOSTS: the listed pairs (empty entries dropped) plus the exact pair
    of the embedded/default server's URL. ValueError names an entry that is not host:port."""
    pairs = [entry.strip() for entry in entries if entry.strip()]
    try:
        _scheme, host, port = _split(base_url.strip())
    except UnsafeURLError as exc:
        raise ValueError(f"INFERENCE_BASE_URL: {exc}") from exc
    pairs.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    parse_allowed(pairs)
    return pairs


def is_allowed(host: str, port: int) -> bool:
    return (_parse_host(host), port) in parse_allowed(settings.INFERENCE_ALLOWED_HOSTS)


def _split(url: str) -> tuple[str, str, int]:
    """Validate the URL's shape; return (scheme, host, port)."""
    if not isinstance(url, str) or len(url) > 500:
        raise UnsafeURLError("The base URL must be a string of at most 500 characters.")
    if not _URL_CHARS.fullmatch(url):
        raise UnsafeURLError(
            "The base URL holds characters a URL cannot (spaces, quotes, <, >, \\): percent-encode them."
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL"
        raise UnsafeURLError(f"The base URL is not valid: {exc}.") from exc
    if parts.scheme not in _DEFAULT_PORTS:
        raise UnsafeURLError("The base URL must start with http:// or https://.")
    if not parts.hostname:
        raise UnsafeURLError("The base URL has no host.")
    if "@" in parts.netloc:
        raise UnsafeURLError("Put credentials in the API key field, not in the URL.")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise UnsafeURLError("The base URL must not have a query string or fragment.")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (port is not None and not 0 < port < 65536) or parts.netloc.endswith(":"):
        raise UnsafeURLError("The base URL's port must be a number from 1 to 65535 (host:port).")
    try:
        httpx.URL(url)  # what the client will send must parse there too
    except httpx.InvalidURL as exc:
        raise UnsafeURLError(f"The base URL is not valid: {exc}.") from exc
    return parts.scheme, _parse_host(parts.hostname), port or _DEFAULT_PORTS[parts.scheme]


def resolve_host(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHostError(f"Cannot resolve {host}.") from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def _refuse_internal(host: str, port: int, addresses: list[IPAddress]) -> None:
    if is_allowed(host, port):
        return
    if host == "localhost" or host.endswith(".localhost") or any(is_internal(ip) for ip in addresses):
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise InternalAddressError(
            f"{where} is an internal address; an operator must add it to INFERENCE_ALLOWED_HOSTS."
        )


def connect_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses a connection to host:port may use (resolved once), or UnsafeURLError."""
    host = _parse_host(host)
    addresses = resolve_host(host, port)
    _refuse_internal(host, port, addresses)
    return addresses


def check_base_url(url: str, *, resolve: bool = True) -> str:
    """Return the normalised base URL (no trailing slash) or raise UnsafeURLError. With resolve,
    the host is resolved and its addresses checked; without, only an IP literal is (the client
    checks the addresses again at every connection)."""
    url = url.strip() if isinstance(url, str) else url
    _scheme, host, port = _split(url)
    if resolve:
        connect_addresses(host, port)
    else:
        try:
            literal = [ipaddress.ip_address(host)]
        except ValueError:
            literal = []
        _refuse_internal(host, port, literal)
    return url.rstrip("/")
