"""The SSRF guard on inference URLs: full URL validation, non-global addresses (incl. IPv4 hidden in
IPv6), host:port allow-list pairs, and connections pinned to the address that was checked (DNS
rebinding), for every request."""

import ipaddress
import os
import socket
import subprocess
import sys

import pytest

from labelhub.integrations.inference import client
from labelhub.integrations.inference.client import chat_completion
from labelhub.integrations.inference.errors import ErrorKind, InferenceError
from labelhub.integrations.inference.types import SamplingParams
from labelhub.integrations.inference.urls import UnsafeURLError, check_base_url, is_internal, parse_allowed
from tests.generation.fake_openai import FakeOpenAI, allow_inference_server
from tests.processes import ROOT

GLOBAL_IP = "93.184.216.34"

INTERNAL = [
    "100.64.0.1",  # shared address space (RFC 6598): some clouds' metadata service
    "100.127.255.254",
    "2002::7f00:1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:808:808::1",  # 6to4 at all (deprecated relays, RFC 7526)
    "::ffff:127.0.0.1",
    "::ffff:a9fe:a9fe",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",
    "2001::1",  # Teredo
    "0.0.0.0",  # noqa: S104 - an address refused, not bound
    "::",
    "127.0.0.1",
    "::1",
    "169.254.169.254",
    "fe80::1",
    "fd00::",
    "fd00:ec2::254",  # AWS IMDS over IPv6
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "192.0.0.170",
    "198.18.0.1",
    "224.0.0.1",
    "ff02::1",
    "255.255.255.255",
    "240.0.0.1",
]
GLOBAL = ["8.8.8.8", GLOBAL_IP, "2606:4700:4700::1111", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", INTERNAL)
def test_non_global_addresses_are_internal(address, settings):
    settings.INFERENCE_ALLOWED_HOSTS = []
    assert is_internal(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeURLError, match="internal address"):
        check_base_url(f"http://{host}:8000/v1")


@pytest.mark.parametrize("address", GLOBAL)
def test_global_addresses_pass(address, settings):
    settings.INFERENCE_ALLOWED_HOSTS = []
    assert not is_internal(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    assert check_base_url(f"http://{host}:8000/v1/") == f"http://{host}:8000/v1"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000:80/v1",  # the malformed port that left its check "running"
        "http://93.184.216.34:8000:80/v1",
        "http://example.com:0/v1",
        "http://example.com:65536/v1",
        "http://example.com:-1/v1",
        "http://example.com:/v1",
        "http://example.com:8o/v1",
        "http://[::1/v1",
        "http://127.1/v1",  # resolvers read these as 127.0.0.1
        "http://2130706433/v1",
        "http://0x7f000001/v1",
        "http://a..b/v1",
        "http://-a.example/v1",
        "http://example.com?x=1",
        "http://example.com/v1#f",
        "http:///v1",
        "http://user@example.com/v1",
        "ftp://example.com/v1",
    ],
)
def test_malformed_urls_are_refused(url, settings):
    settings.INFERENCE_ALLOWED_HOSTS = ["127.0.0.1:8000", "example.com:0"]
    with pytest.raises(UnsafeURLError):
        check_base_url(url, resolve=False)


def test_allow_list_is_host_port_pairs(settings):
    settings.INFERENCE_ALLOWED_HOSTS = ["127.0.0.1:8080", "[fd00::12]:8000", "gpu-1.internal:8000", "vllm_1:8000"]
    assert check_base_url("http://vllm_1:8000/v1", resolve=False) == "http://vllm_1:8000/v1"
    assert check_base_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"
    assert check_base_url("http://[fd00::12]:8000/v1") == "http://[fd00::12]:8000/v1"
    assert check_base_url("http://gpu-1.internal:8000/v1", resolve=False) == "http://gpu-1.internal:8000/v1"
    for url in ("http://127.0.0.1:8081/v1", "http://127.0.0.1/v1", "https://127.0.0.1/v1", "http://[fd00::12]/v1"):
        with pytest.raises(UnsafeURLError, match="internal address"):
            check_base_url(url)


def test_default_allows_only_the_embedded_servers_port():
    from django.conf import settings

    assert "127.0.0.1:8080" in settings.INFERENCE_ALLOWED_HOSTS  # INFERENCE_BASE_URL's pair
    check_base_url("http://127.0.0.1:8080/v1")
    for port in (22, 5432, 6379, 8081):
        with pytest.raises(UnsafeURLError, match="internal address"):
            check_base_url(f"http://127.0.0.1:{port}/v1")


@pytest.mark.parametrize("entry", ["gpu-1.internal", "10.0.0.12", "*", "host:0", "host:99999", "fd00::12", "a b:80"])
def test_allow_list_entries_without_a_valid_port_are_refused(entry):
    with pytest.raises(ValueError, match="host:port"):
        parse_allowed([entry])


def test_a_bare_host_in_the_environment_stops_the_start():
    env = {**os.environ, "DEBUG": "true", "INFERENCE_ALLOWED_HOSTS": "gpu-1.internal"}
    proc = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
         "'labelhub.settings'); django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr and "'gpu-1.internal' is not host:port" in proc.stderr


# --- connections: pinned to the checked address --------------------------------------------------


@pytest.fixture
def server():
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def network(monkeypatch):
    """A resolver that answers `answers[host]` in turn (then its last answer), and a record of every
    TCP connection opened: only loopback ones are really made (this host has no way out)."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection
    state = {"answers": {}, "lookups": [], "connects": []}

    def getaddrinfo(host, port, *args, **kwargs):
        answers = state["answers"].get(host)
        if answers is None:
            return real_getaddrinfo(host, port, *args, **kwargs)
        state["lookups"].append(host)
        ip = answers.pop(0) if len(answers) > 1 else answers[0]
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (ip, port))]

    def create_connection(address, *args, **kwargs):
        state["connects"].append(address)
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:  # a name: resolved (again) by the real create_connection
            loopback = True
        if not loopback:
            raise ConnectionRefusedError(111, "Connection refused (test: no way out)")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return state


def _complete(base_url):
    return chat_completion(
        base_url=base_url, model="m", messages=[{"role": "user", "content": "hi"}],
        params=SamplingParams(max_tokens=1), timeout_s=5, connect_timeout_s=2,
    )  # fmt: skip


def test_dns_rebinding_connects_to_the_checked_address_never_loopback(server, network, settings):
    """The name resolves to a global address, then to 127.0.0.1: the connection goes to the first."""
    settings.INFERENCE_ALLOWED_HOSTS = []
    port = server.server_address[1]
    network["answers"]["rebind.test"] = [GLOBAL_IP, "127.0.0.1"]
    with pytest.raises(InferenceError) as caught:
        _complete(f"http://rebind.test:{port}/v1")
    assert caught.value.kind == ErrorKind.CONNECTION_REFUSED
    assert network["connects"] == [(GLOBAL_IP, port)]
    assert server.requests == 0


def test_every_request_is_checked_again(server, network, settings, project):
    """Saved while it resolved to a global address; when the check runs it resolves to loopback."""
    from labelhub.generation import services

    settings.INFERENCE_ALLOWED_HOSTS = []
    port = server.server_address[1]
    network["answers"]["rebind.test"] = [GLOBAL_IP, "127.0.0.1"]
    config = services.model_config_create(
        project=project, data={"name": "r", "base_url": f"http://rebind.test:{port}/v1", "model": "m"}
    )
    config = services.model_config_check_run(config_id=config.pk)
    assert config.last_check_status == "failed"
    assert config.last_check_error["kind"] == ErrorKind.UNSAFE_URL
    assert "internal address" in config.last_check_error["reason"]
    assert network["lookups"] == ["rebind.test", "rebind.test"] and network["connects"] == []
    assert server.requests == 0


def test_a_name_that_resolves_to_any_internal_address_is_refused(server, network, settings):
    settings.INFERENCE_ALLOWED_HOSTS = []
    network["answers"]["mixed.test"] = ["100.64.0.1"]
    with pytest.raises(InferenceError) as caught:
        _complete(f"http://mixed.test:{server.server_address[1]}/v1")
    assert caught.value.kind == ErrorKind.UNSAFE_URL and network["connects"] == []


def test_pinned_connection_keeps_the_host_name(server, network, settings, monkeypatch):
    """An allowed internal name: the socket goes to the resolved address, the request names the host."""
    port = server.server_address[1]
    allow_inference_server(settings, monkeypatch, f"inference.test:{port}")
    network["answers"]["inference.test"] = ["127.0.0.1"]
    completion = _complete(f"http://inference.test:{port}/v1")
    assert completion.content == "Answer to: hi"
    assert network["connects"] == [("127.0.0.1", port)]
    assert server.bodies[-1]["host"] == f"inference.test:{port}"


def test_the_shared_client_is_pinned():
    pool = client._shared_client()._transport._pool
    assert isinstance(pool._network_backend, client.GuardedBackend)


def _self_signed(tmp_path, name):
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_pinned_tls_keeps_sni_and_verifies_the_certificate_for_the_name(tmp_path, network, settings):
    """https to a name: the socket goes to the checked address, TLS sends the name (SNI) and the
    certificate is verified for the name, not for the address."""
    import http.server
    import ssl
    import threading

    import httpx

    cert, key = _self_signed(tmp_path, "tls.test")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    seen_sni = []
    server_ctx.sni_callback = lambda sock, name, ctx: seen_sni.append(name)

    class Ok(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    settings.INFERENCE_ALLOWED_HOSTS = [f"tls.test:{port}", f"other.test:{port}"]
    network["answers"]["tls.test"] = ["127.0.0.1"]
    network["answers"]["other.test"] = ["127.0.0.1"]
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        with httpx.Client(transport=client.guarded_transport(verify=trust)) as pinned:
            assert pinned.get(f"https://tls.test:{port}/").text == "ok"
            assert seen_sni == ["tls.test"] and network["connects"] == [("127.0.0.1", port)]
            with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
                pinned.get(f"https://other.test:{port}/")  # same address, a name the certificate lacks
    finally:
        httpd.shutdown()
        httpd.server_close()
