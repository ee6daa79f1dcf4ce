from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination

from labelhub.core.ids import InvalidId, parse_id


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class NewestFirstCursorPagination(CursorPagination):
    """Keyset pagination: constant cost per page at any depth (no COUNT, no OFFSET)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"

    def decode_cursor(self, request):
        """DRF's decoding, then the position (an id: the ordering is by id) through core.ids: a
        cursor decoding to "abc", "1e5", "²" or beyond bigint is a 404 like any invalid cursor, not
        a 500 from the query."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                position = parse_id(cursor.position, field=self.cursor_query_param)
                cursor = cursor._replace(position=str(position))  # DRF compares positions as strings
            except InvalidId as exc:
                raise NotFound(self.invalid_cursor_message) from exc
        return cursor
