"""Ids and cursors from clients: one parser, so bad input is a 400/404 and never a 500.

`int()` is the wrong tool for text from a client: it takes "١٢" (Arabic-Indic digits) and " 12 " and
"1_2", `str.isdigit()` is true for "²" and "①" which `int()` then refuses (a ValueError deep in a view:
a 500), and an id beyond bigint made the database layer raise. An id here is an int (not a bool) or
a string of 1 to 19 ASCII digits, from 0 to the largest bigint; anything else raises InvalidId.
"""

import re

from labelhub.core.exceptions import ApplicationError, NotFound

ID_MAX = 2**63 - 1  # PostgreSQL bigint
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


class InvalidId(ApplicationError):
    """A 400: the value is not an id at all (an unknown id is a 404 from whoever looks it up)."""


def parse_id(value, *, field: str = "id") -> int:
    """`value` as an id, or InvalidId (a 400 naming `field`). Never raises anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        number = int(value)
    else:
        number = -1
    if not 0 <= number <= ID_MAX:
        raise InvalidId(
            f"{field}: expected an id (ASCII digits 0-9, at most {ID_MAX}).",
            extra={"fields": {field: ["An id: ASCII digits 0-9."]}},
        )
    return number


def is_id(value) -> bool:
    """Whether parse_id accepts `value` (for a parameter that takes an id or a name)."""
    try:
        parse_id(value)
    except InvalidId:
        return False
    return True


def id_or_404(value, *, label: str) -> int:
    """parse_id for an id that addresses something: anything but an id is "<label> not found." (404),
    as an unknown id is."""
    try:
        return parse_id(value)
    except InvalidId as exc:
        raise NotFound(f"{label} not found.") from exc


def parse_cursor(value, *, field: str = "cursor") -> int | None:
    """A keyset cursor (the id a page starts after): None/"" for the first page, else an id; a
    malformed one is "No such page." (404), as a stale one would be."""
    if value in (None, ""):
        return None
    try:
        return parse_id(value, field=field)
    except InvalidId as exc:
        raise NotFound("No such page.", extra={"fields": {field: ["A cursor from a previous page."]}}) from exc
