"""Keyset pagination for server-rendered lists: constant cost per page at any depth."""

from labelhub.core.exceptions import NotFound


def keyset_page(queryset, *, cursor, size: int, newest_first: bool) -> tuple[list, int | None]:
    """One page of `queryset` (already ordered by id) after `cursor` (an id, or None/"" for the first
    page), without COUNT or OFFSET: fetches size + 1 rows to know whether another page follows.
    Returns (rows, the cursor of the next page or None). A malformed cursor is a 404."""
    if cursor not in (None, ""):
        try:
            cursor = int(cursor)
        except (TypeError, ValueError) as exc:
            raise NotFound("No such page.") from exc
        queryset = queryset.filter(pk__lt=cursor) if newest_first else queryset.filter(pk__gt=cursor)
    rows = list(queryset[: size + 1])
    if len(rows) > size:
        return rows[:size], rows[size - 1].pk
    return rows, None
