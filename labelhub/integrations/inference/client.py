"""A minimal client for OpenAI-compatible chat completion servers (vLLM, llama.cpp, Ollama, TGI,
SGLang). One request, one sample; errors are classified as transient or permanent.

Every connection goes through GuardedBackend: the host is resolved once, each address is checked
by the SSRF guard (urls.connect_addresses) and the socket is opened to a checked address, so a DNS
answer that changes between the check and the connection (rebinding) cannot reach loopback. The
URL keeps its host name: the Host header, TLS SNI and certificate checks are for the name."""

import json
import logging
import os
import time

import httpcore
import httpx

from .errors import ErrorKind, PermanentInferenceError, TransientInferenceError
from .types import Completion, SamplingParams
from .urls import InternalAddressError, UnresolvableHostError, UnsafeURLError, check_base_url, connect_addresses

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
USER_AGENT = "labelhub/0.1"


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, connecting only to addresses the SSRF guard checked (pinned)."""

    def __init__(self):
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = connect_addresses(host, port)  # UnsafeURLError propagates through httpx
        last: Exception | None = None
        for ip in addresses:
            try:
                # An IP literal: create_connection looks nothing up, it connects to this address.
                return self._backend.connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("Unix sockets are not inference servers.")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def guarded_transport(**kwargs) -> httpx.HTTPTransport:
    """An httpx transport whose connections go through GuardedBackend (httpx does not take a network
    backend, so the pool's is replaced; pinned by tests/integrations/test_ssrf_guard.py)."""
    transport = httpx.HTTPTransport(**kwargs)
    pool = transport._pool
    if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("httpx/httpcore changed: cannot pin inference connections to checked addresses")
    pool._network_backend = GuardedBackend()
    return transport


_client: httpx.Client | None = None
_client_pid: int | None = None


def _shared_client() -> httpx.Client:
    """One connection-pooling client per process (created after a prefork worker forks):
    building a client loads the CA bundle, ~20 ms a call, and pooled connections skip the TCP
    handshake. Redirects are never followed (a redirect to an internal address is SSRF)."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        limits = httpx.Limits(max_connections=32)
        _client = httpx.Client(
            follow_redirects=False, trust_env=False, transport=guarded_transport(limits=limits, trust_env=False)
        )
        _client_pid = os.getpid()
    return _client


def sanitize_text(text: str) -> tuple[str, dict]:
    """Make model output storable in PostgreSQL without losing the rest of it.

    NUL (U+0000) becomes U+2400 SYMBOL FOR NULL and each lone surrogate becomes U+FFFD; the counts
    are returned so the caller can record that (and keep the exact original, JSON-escaped)."""
    counts = {}
    nul = text.count("\x00")
    if nul:
        text = text.replace("\x00", "\u2400")
        counts["nul"] = nul
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        fixed, bad = [], 0
        for ch in text:
            if "\ud800" <= ch <= "\udfff":
                fixed.append("\ufffd")
                bad += 1
            else:
                fixed.append(ch)
        text = "".join(fixed)
        counts["surrogates"] = bad
    return text, counts


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, min(float(value), 600.0)) if value else None
    except ValueError:
        return None


def _log_reply(base: str, status: int, body: bytes, what: str) -> None:
    """The server's reply goes to the log only (truncated), never into an error members see."""
    logger.warning("inference server %s: %s (HTTP %s): %r", base, what, status, body[:300])


def _connect_error(exc: httpx.TransportError) -> TransientInferenceError:
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ConnectionRefusedError):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        return TransientInferenceError(ErrorKind.CONNECTION_REFUSED)
    return TransientInferenceError(ErrorKind.CONNECTION_FAILED, reason=type(exc).__name__)


def chat_completion(
    *,
    base_url: str,
    model: str,
    messages: list[dict],
    params: SamplingParams,
    api_key: str = "",
    timeout_s: float = 120.0,
    connect_timeout_s: float = 5.0,
) -> Completion:
    """POST {base_url}/chat/completions and return one completion, or raise an InferenceError."""
    try:
        base = check_base_url(base_url, resolve=False)  # addresses: checked at connection (GuardedBackend)
    except InternalAddressError as exc:
        raise PermanentInferenceError(ErrorKind.UNSAFE_URL, reason=str(exc)) from exc
    except UnsafeURLError as exc:
        raise PermanentInferenceError(ErrorKind.INVALID_URL, reason=str(exc)) from exc
    payload: dict = {
        "model": model,
        "messages": messages,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "n": 1,
        "stream": False,
    }
    if params.seed is not None:
        payload["seed"] = params.seed
    if params.stop:
        payload["stop"] = params.stop
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
    started = time.perf_counter()
    try:
        with _shared_client().stream(
            "POST", f"{base}/chat/completions", json=payload, headers=headers, timeout=timeout
        ) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > MAX_RESPONSE_BYTES:
                    raise PermanentInferenceError(
                        ErrorKind.TOO_LARGE, reason=f"over {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB; lower max_tokens"
                    )
                if time.perf_counter() - started > timeout_s:
                    raise TransientInferenceError(ErrorKind.TIMEOUT, reason=f"no answer within {timeout_s:.0f} s")
    except UnresolvableHostError as exc:
        raise TransientInferenceError(ErrorKind.CONNECTION_FAILED, reason=str(exc)) from exc
    except UnsafeURLError as exc:
        raise PermanentInferenceError(ErrorKind.UNSAFE_URL, reason=str(exc)) from exc
    except httpx.TimeoutException as exc:
        raise TransientInferenceError(ErrorKind.TIMEOUT, reason=type(exc).__name__) from exc
    except httpx.TransportError as exc:
        raise _connect_error(exc) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise PermanentInferenceError(ErrorKind.INVALID_URL, reason=type(exc).__name__) from exc
    latency_ms = int((time.perf_counter() - started) * 1000)
    status = response.status_code
    if status == 429 or status >= 500:
        _log_reply(base, status, bytes(body), "transient error")
        raise TransientInferenceError(ErrorKind.HTTP_STATUS, status=status, retry_after=_retry_after(response))
    if 300 <= status < 400:
        raise PermanentInferenceError(ErrorKind.REDIRECT, status=status)
    if status >= 400:
        _log_reply(base, status, bytes(body), "request refused")
        raise PermanentInferenceError(ErrorKind.HTTP_STATUS, status=status)
    try:
        data = json.loads(bytes(body))
    except ValueError as exc:
        _log_reply(base, status, bytes(body), "answer is not JSON")
        raise PermanentInferenceError(ErrorKind.INVALID_RESPONSE, reason="not JSON") from exc
    if not isinstance(data, dict):
        raise PermanentInferenceError(ErrorKind.INVALID_RESPONSE, reason="not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise PermanentInferenceError(ErrorKind.INVALID_RESPONSE, reason="no choices")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content = message.get("content")
    if not isinstance(content, str):
        raise PermanentInferenceError(ErrorKind.INVALID_RESPONSE, reason="no message content")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    text, sanitized = sanitize_text(content)
    finish_reason = choice.get("finish_reason")
    reported = data.get("model")

    def _int(value):
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    return Completion(
        content=text,
        finish_reason=sanitize_text(finish_reason)[0][:32] if isinstance(finish_reason, str) else "",
        model=sanitize_text(reported)[0][:200] if isinstance(reported, str) else "",
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        latency_ms=latency_ms,
        sanitized=sanitized,
        raw_escaped=json.dumps(content) if sanitized else None,
    )
