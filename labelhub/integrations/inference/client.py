"""A minimal client for OpenAI-compatible chat completion servers (vLLM, llama.cpp, Ollama, TGI,
SGLang). One request, one sample; errors are classified as transient or permanent."""

import json
import os
import time

import httpx

from .errors import PermanentInferenceError, TransientInferenceError
from .types import Completion, SamplingParams
from .urls import UnsafeURLError, check_base_url

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
USER_AGENT = "labelhub/0.1"


_client: httpx.Client | None = None
_client_pid: int | None = None


def _shared_client() -> httpx.Client:
    """One connection-pooling client per process (created after a prefork worker forks):
    building a client loads the CA bundle, ~20 ms a call, and pooled connections skip the TCP
    handshake. Redirects are never followed (a redirect to an internal address is SSRF)."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = httpx.Client(follow_redirects=False, trust_env=False, limits=httpx.Limits(max_connections=32))
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


def _snippet(body: bytes) -> str:
    return body[:300].decode("utf-8", errors="replace").replace("\x00", "\u2400")


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
        base = check_base_url(base_url)
    except UnsafeURLError as exc:
        raise PermanentInferenceError(str(exc)) from exc
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
                        f"The server's response is larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB; "
                        "lower max_tokens."
                    )
                if time.perf_counter() - started > timeout_s:
                    raise TransientInferenceError(f"The server took longer than {timeout_s:.0f}s to answer.")
    except httpx.TimeoutException as exc:
        raise TransientInferenceError(f"Timed out talking to the inference server ({type(exc).__name__}).") from exc
    except httpx.TransportError as exc:
        raise TransientInferenceError(f"Cannot reach the inference server: {type(exc).__name__}.") from exc
    latency_ms = int((time.perf_counter() - started) * 1000)
    status = response.status_code
    if status == 429 or status >= 500:
        raise TransientInferenceError(
            f"The inference server answered HTTP {status}: {_snippet(bytes(body))}",
            status=status,
            retry_after=_retry_after(response),
        )
    if 300 <= status < 400:
        raise PermanentInferenceError(f"The inference server redirected (HTTP {status}); redirects are not followed.")
    if status >= 400:
        raise PermanentInferenceError(
            f"The inference server refused the request: HTTP {status}: {_snippet(bytes(body))}"
        )
    try:
        data = json.loads(bytes(body))
    except ValueError as exc:
        raise PermanentInferenceError(f"The inference server's answer is not JSON: {_snippet(bytes(body))!r}") from exc
    if not isinstance(data, dict):
        raise PermanentInferenceError("The inference server's answer is not a JSON object.")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise PermanentInferenceError("The inference server returned no choices.")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content = message.get("content")
    if not isinstance(content, str):
        raise PermanentInferenceError("The inference server's answer has no message content.")
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
