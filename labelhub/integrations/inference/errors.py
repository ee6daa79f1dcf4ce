class InferenceError(Exception):
    """A failed completion. `message` is safe to store and show (no secrets, bounded length)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message[:2000])
        self.message = message[:2000]
        self.status = status
        self.retry_after = retry_after


class TransientInferenceError(InferenceError):
    """Worth retrying: connection refused/reset, timeout, 429, 5xx."""


class PermanentInferenceError(InferenceError):
    """Retrying will not help: 4xx, a body that is not JSON, no choices, no content, too large."""
