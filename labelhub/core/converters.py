"""URL converters."""


class IdConverter:
    """A database id in a URL: 1 to 18 digits, so it always fits a 64-bit integer column. Django's
    `int` converter takes any length, and an id beyond bigint made the database layer raise (a 500)
    instead of the 404 an unknown id deserves."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))
