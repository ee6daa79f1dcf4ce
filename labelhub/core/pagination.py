"""Keyset pagination for server-rendered lists: constant cost per page at any depth."""

from labelhub.core.ids import parse_cursor


def keyset_page(queryset, *, cursor, size: int, newest_first: bool) -> tuple[list, int | None]:
    """One page of `queryset` (already ordered by id) after `cursor` (an id, or None/"" for the first
    page), without COUNT or OFFSET: fetches size + 1 rows to know whether another page follows.
    Returns (rows, the cursor of the next page or None). A malformed cursor is a 404 (core.ids)."""
    cursor = parse_cursor(cursor)
    if cursor is not None:
        queryset = queryset.filter(pk__lt=cursor) if newest_first else queryset.filter(pk__gt=cursor)
    rows = list(queryset[: size + 1])
    if len(rows) > size:
        return rows[:size], rows[size - 1].pk
    return rows, None


class BoundedCount:
    """A count that stops at a cap: "10,000+" rather than the exact number of millions of rows.
    Renders as the number (or cap + "+"), compares and pluralizes like an int (its value is at most
    cap + 1)."""

    __slots__ = ("cap", "value")

    def __init__(self, value: int, cap: int):
        self.value, self.cap = min(value, cap + 1), cap

    @property
    def more(self) -> bool:
        return self.value > self.cap

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    def __float__(self) -> float:
        return float(self.value)

    def __bool__(self) -> bool:
        return self.value > 0

    def __eq__(self, other) -> bool:
        return self.value == int(other) if isinstance(other, int | BoundedCount) else NotImplemented

    def __lt__(self, other) -> bool:
        return self.value < int(other)

    def __le__(self, other) -> bool:
        return self.value <= int(other)

    def __gt__(self, other) -> bool:
        return self.value > int(other)

    def __ge__(self, other) -> bool:
        return self.value >= int(other)

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return f"{self.cap:,}+" if self.more else str(self.value)

    def __repr__(self) -> str:
        return f"BoundedCount({self})"


def bounded_count(queryset, *, cap: int = 10_000) -> BoundedCount:
    """COUNT of at most cap + 1 rows (`SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1)`): the same one
    query, and a cost that stops growing at the cap, however many rows match."""
    return BoundedCount(queryset.order_by()[: cap + 1].count(), cap)
