"""Inference failures, classified. What a server replied (body, reason phrase) is never part of an
error: it goes to the server log, truncated; members see the classification only."""

from http import HTTPStatus


class ErrorKind:
    UNSAFE_URL = "unsafe_url"
    INVALID_URL = "invalid_url"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_FAILED = "connection_failed"
    TIMEOUT = "timeout"
    HTTP_STATUS = "http_status"
    REDIRECT = "redirect"
    INVALID_RESPONSE = "invalid_response"
    TOO_LARGE = "too_large"
    QUEUE_UNREACHABLE = "queue_unreachable"
    STUCK = "stuck"
    UNCLASSIFIED = "unclassified"  # stored before errors were classified (migration 0004 cleared it)
    INTERNAL = "internal"


_DESCRIPTIONS = {
    ErrorKind.UNSAFE_URL: "Refused by the SSRF guard",
    ErrorKind.INVALID_URL: "Invalid base URL",
    ErrorKind.CONNECTION_REFUSED: "Connection refused",
    ErrorKind.CONNECTION_FAILED: "Cannot reach the server",
    ErrorKind.TIMEOUT: "Timed out",
    ErrorKind.HTTP_STATUS: "HTTP",
    ErrorKind.REDIRECT: "Redirected (redirects are not followed)",
    ErrorKind.INVALID_RESPONSE: "Invalid response",
    ErrorKind.TOO_LARGE: "Response too large",
    ErrorKind.QUEUE_UNREACHABLE: "The task queue is unreachable; try again",
    ErrorKind.STUCK: "The check did not finish (worker lost or busy); try again",
    ErrorKind.INTERNAL: "Unexpected error (details in the server log)",
    ErrorKind.UNCLASSIFIED: "Failed (before errors were classified); test again",
}


def _phrase(status) -> str:
    """The standard reason phrase (never the one the server sent)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def classified(kind: str, *, status: int | None = None, reason: str = "") -> dict:
    """The stored form of a failure: {"kind", "status"?, "reason"?}. `reason` is our own text."""
    error: dict = {"kind": kind}
    if status is not None:
        error["status"] = status
        reason = reason or _phrase(status)
    if reason:
        error["reason"] = reason[:200]
    return error


def describe(error: dict | None) -> str:
    """One line for people: "HTTP 502 (Bad Gateway)", "Invalid response (not JSON)"."""
    if not isinstance(error, dict) or not error:
        return ""
    text = _DESCRIPTIONS.get(error.get("kind"), "Failed")
    status, reason = error.get("status"), error.get("reason")
    if status is not None:
        text += f" {status}"
        reason = reason or _phrase(status)
    if reason:
        text += f" ({reason})"
    return text


class InferenceError(Exception):
    """A failed completion. `message` is safe to store and show: built from the classification,
    with no secrets and nothing the server replied."""

    def __init__(
        self,
        kind: str,
        *,
        status: int | None = None,
        reason: str = "",
        retry_after: float | None = None,
    ):
        self.error = classified(kind, status=status, reason=reason)
        self.kind = kind
        self.message = describe(self.error)
        super().__init__(self.message)
        self.status = status
        self.retry_after = retry_after


class TransientInferenceError(InferenceError):
    """Worth retrying: connection refused/reset, timeout, 429, 5xx."""


class PermanentInferenceError(InferenceError):
    """Retrying will not help: 4xx, a body that is not JSON, no choices, no content, too large."""
