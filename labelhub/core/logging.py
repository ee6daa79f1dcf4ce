"""A logging filter that masks credentials wherever they might leak into a log line."""

import logging
import re
from urllib.parse import unquote_plus

# "Token abc", "Bearer abc", token=abc / api_key=abc / password=abc in query strings or reprs.
_PATTERNS = [
    re.compile(r"(?i)\b(token|bearer)\s+[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)\b(api[_-]?key|token|password|secret|authorization)(['\"]?\s*[:=]\s*['\"]?)[^\s&'\",}]+"),
    re.compile(r"\blh_[A-Za-z0-9_\-]{20,}"),
]


# A query parameter (`?access_token=…`, `&apiKey=…`, `%74oken=…`) whose decoded name looks like a credential.
_QUERY_PARAM = re.compile(r"(^|[?&;])([^=&;?#\s\"']+)=([^&;#\s\"']*)")
_SECRET_NAME = re.compile(
    r"(?i)token|secret|passw|credential|csrf|session|api[_-]?key|(?:^|[_-])(?:key|sig|signature|auth|authorization)$"
)


def _redact_param(match: re.Match) -> str:
    sep, name, value = match.groups()
    if value and _SECRET_NAME.search(unquote_plus(name)):
        return f"{sep}{name}=[redacted]"
    return match.group(0)


def redact(text: str) -> str:
    text = _QUERY_PARAM.sub(_redact_param, text)
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
