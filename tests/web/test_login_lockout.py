"""Login lockouts key on (username, client address); behind a trusted proxy the address comes from
X-Forwarded-For, from anyone else X-Forwarded-For is ignored (labelhub/core/clientip.py)."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from labelhub.core.clientip import client_ip, parse_trusted_proxies
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
PROXY = "10.0.0.5"
ATTACKER, USER = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = parse_trusted_proxies([PROXY, "fd00::/8"])
    return settings


def _login(client, password, *, peer, forwarded=None, username="admin"):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


@pytest.mark.django_db
def test_behind_a_trusted_proxy_failures_from_one_client_do_not_lock_out_another(client, behind_proxy):
    UserFactory(username="admin")
    for _ in range(behind_proxy.AXES_FAILURE_LIMIT):
        _login(client, "guess", peer=PROXY, forwarded=ATTACKER)
    # The attacker is locked out, even with the right password …
    assert _login(client, PASSWORD, peer=PROXY, forwarded=ATTACKER).status_code == 429
    # … the user, behind the same proxy from their own address, is not.
    assert _login(client, PASSWORD, peer=PROXY, forwarded=USER).status_code == 302


@pytest.mark.django_db
def test_a_client_cannot_choose_its_address_to_dodge_the_lockout(client, behind_proxy):
    UserFactory(username="admin")
    for n in range(behind_proxy.AXES_FAILURE_LIMIT):
        # Straight to the app: its own X-Forwarded-For is not believed.
        _login(client, "guess", peer=ATTACKER, forwarded=f"192.0.2.{n}")
    assert _login(client, PASSWORD, peer=ATTACKER, forwarded="192.0.2.200").status_code == 429
    for n in range(behind_proxy.AXES_FAILURE_LIMIT):
        # Through the proxy, which appends the real peer: a forged left part changes nothing.
        _login(client, "guess", peer=PROXY, forwarded=f"192.0.2.{n}, {USER}", username="admin")
    assert _login(client, PASSWORD, peer=PROXY, forwarded=f"192.0.2.99, {USER}").status_code == 429


def _ip(peer, forwarded=None):
    meta = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(SimpleNamespace(META=meta))


def test_client_ip_reads_x_forwarded_for_right_to_left_past_trusted_hops_only(behind_proxy):
    assert _ip(USER, ATTACKER) == USER  # untrusted peer: header ignored
    assert _ip(PROXY) == PROXY  # a trusted peer without the header is the client
    assert _ip(PROXY, f"{ATTACKER}, {USER}") == USER  # the nearest untrusted hop
    assert _ip(PROXY, f"{USER}, fd00::1, {PROXY}") == USER  # past a chain of trusted proxies
    assert _ip(PROXY, f"{ATTACKER}, not-an-ip") == PROXY  # garbage stops the walk
    assert _ip(PROXY, " , ") == PROXY
    assert _ip(f"::ffff:{PROXY}", USER) == USER  # an IPv4 proxy seen on a dual-stack socket
    assert _ip("fd00::7", "2001:db8::1") == "2001:db8::1"
    assert _ip("") is None


def test_client_ip_without_trusted_proxies_is_the_peer(settings):
    settings.TRUSTED_PROXIES = ()
    assert _ip(PROXY, ATTACKER) == PROXY


def test_malformed_trusted_proxies_are_refused():
    with pytest.raises(ValueError):
        parse_trusted_proxies(["10.0.0.1", "proxy.internal"])
    assert [str(n) for n in parse_trusted_proxies([" 10.0.0.1 ", "", "10.1.2.3/8"])] == ["10.0.0.1/32", "10.0.0.0/8"]


def test_check_deploy_warns_behind_a_proxy_without_trusted_proxies(settings):
    from labelhub.accounts.checks import trusted_proxies_check

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = ()
    assert [w.id for w in trusted_proxies_check(None)] == ["accounts.W001"]
    settings.TRUSTED_PROXIES = parse_trusted_proxies(["172.16.0.0/12"])
    assert trusted_proxies_check(None) == []
    settings.SECURE_PROXY_SSL_HEADER, settings.TRUSTED_PROXIES = None, ()
    assert trusted_proxies_check(None) == []
