"""Reading many rows in constant memory."""

from collections.abc import Iterator

from django.db import connection


def iter_rows(queryset, fields: tuple[str, ...], *, batch: int = 2000) -> Iterator[tuple]:
    """The queryset's `fields` as raw tuples, `batch` rows per round trip, through a server-side
    cursor on PostgreSQL (a plain cursor on SQLite). JSON columns arrive as text on PostgreSQL
    (Django's loader) and on SQLite: decode them yourself; no per-row model instances."""
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield from rows
