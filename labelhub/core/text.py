"""What text PostgreSQL can store: no NUL characters and no lone UTF-16 surrogates."""


def unstorable_reason(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (invalid Unicode)"
    return None


def first_unstorable(value, path: str = "body", depth: int = 0, max_depth: int = 64) -> str | None:
    """Walk decoded JSON; return '<path>: <reason>' for the first string (key or value) that cannot be
    stored, or None. Nesting deeper than `max_depth` is reported too."""
    if depth > max_depth:
        return f"{path}: nested deeper than {max_depth} levels"
    if isinstance(value, str):
        reason = unstorable_reason(value)
        return f"{path}: {reason}" if reason else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = first_unstorable(key, f"{path} key", depth + 1, max_depth) or first_unstorable(
                item, f"{path}.{key}", depth + 1, max_depth
            )
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = first_unstorable(item, f"{path}[{i}]", depth + 1, max_depth)
            if found:
                return found
    return None
