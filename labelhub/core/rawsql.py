"""Model instances from hand-written SQL that joins several tables.

The labeling hot path (claim the next task, submit it: what every labeler does all day) runs a
few statements written out in SQL: on a small server, compiling the equivalent querysets cost more
CPU than PostgreSQL spent running them (bench/RESULTS.md, "make bench-load"). These helpers keep
that SQL honest: the column lists come from the models, and values go through the same converters
the ORM applies (JSON is parsed, and so on), so callers get ordinary model instances.

    cols = Columns(Assignment, "a"), Columns(WorkItem, "w")
    sql = f"SELECT {cols[0]}, {cols[1]} FROM labeling_assignment a JOIN labeling_workitem w ON ..."
    assignment, item = instances(row, *cols)
"""

from django.db import connection
from django.db.models import Model


class Columns:
    """A model's concrete columns under a table alias, minus `defer` (left deferred: read on access).
    Built once per statement (module level, or functools.cache) and reused: str() is the column list."""

    def __init__(self, model: type[Model], alias: str, *, defer: tuple[str, ...] = ()):
        unknown = set(defer) - {f.name for f in model._meta.concrete_fields}
        if unknown:
            raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
        self.model, self.alias = model, alias
        self.fields = [f for f in model._meta.concrete_fields if f.name not in defer]
        self.attnames = [f.attname for f in self.fields]
        self._sql = None
        self._converters = None

    def __str__(self) -> str:
        if self._sql is None:
            quote = connection.ops.quote_name
            self._sql = ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)
        return self._sql

    def __len__(self) -> int:
        return len(self.fields)

    def converters(self) -> list[tuple[int, list, object]]:
        """(position, converters, column) for the fields whose database values need converting."""
        if self._converters is None:
            found = []
            for i, field in enumerate(self.fields):
                col = field.get_col(self.model._meta.db_table)
                convs = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
                if convs:
                    found.append((i, convs, col))
            self._converters = found
        return self._converters


def instances(row, *columns: Columns) -> list[Model]:
    """One instance per Columns, from a row holding their columns in turn."""
    result, start = [], 0
    for cols in columns:
        values = list(row[start : start + len(cols)])
        for i, convs, col in cols.converters():
            for converter in convs:
                values[i] = converter(values[i], col, connection)
        result.append(cols.model.from_db(connection.alias, cols.attnames, values))
        start += len(cols)
    return result
