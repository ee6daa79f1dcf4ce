"""Database helpers with no domain, shared by the apps that read many tables at once."""

from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def consistent_read():
    """One snapshot of the database for a whole read (an export, the quality statistics): a
    REPEATABLE READ, READ ONLY transaction on PostgreSQL (rows committed meanwhile stay invisible).
    Already inside a transaction (tests), it reuses it. SQLite (development) serialises writers for
    the duration instead."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
