"""A logging filter that masks credentials wherever they might leak into a log line."""

import logging
import re

# "Token abc", "Bearer abc", token=abc / api_key=abc / password=abc in query strings or reprs.
_PATTERNS = [
    re.compile(r"(?i)\b(token|bearer)\s+[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)\b(api[_-]?key|token|password|secret|authorization)(['\"]?\s*[:=]\s*['\"]?)[^\s&'\",}]+"),
    re.compile(r"\blh_[A-Za-z0-9_\-]{20,}"),
]


def redact(text: str) -> str:
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    return _PATTERNS[2].sub("[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - any failure is reported, never raised
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
