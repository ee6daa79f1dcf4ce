"""The client's address: X-Forwarded-For is believed only when it comes from a trusted proxy.

Behind a TLS proxy every request arrives from the proxy's address; keyed on that, five wrong
passwords from anyone would lock a username out for everyone. TRUSTED_PROXIES lists the proxies
(addresses or networks) whose X-Forwarded-For is believed. The header is read right to left, past
trusted hops only: the first address not in the list is the client. A header from an untrusted
peer is ignored, so a client cannot choose its own address (to dodge a lockout or to frame another).
"""

import ipaddress

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(values: list[str]) -> tuple[Network, ...]:
    """`10.0.0.5`, `10.0.0.0/8`, `::1` → networks; a malformed entry raises ValueError at start-up."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # an IPv4 peer on a dual-stack socket (::ffff:10.0.0.5)
    return address


def _trusted(address, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: REMOTE_ADDR, or the nearest untrusted X-Forwarded-For hop behind trusted proxies."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    proxies = settings.TRUSTED_PROXIES
    if not _trusted(peer, proxies):
        return str(peer)
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(hop)
        if address is None:  # garbage from the client's side: the last hop we could trust is the answer
            break
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)
