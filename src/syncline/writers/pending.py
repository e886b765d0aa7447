"""Tables announced to a destination but not migrated yet.

They are migrated in announce order, in chunks that grow (16, 32, 64 ... tables): the first
tables' rows need not wait for every table's schema step, and the destination still reads its
catalog once for many tables.
"""

from __future__ import annotations

from itertools import islice

from syncline.schema.table import Table

FIRST_CHUNK = 16
LARGEST_CHUNK = 512


class PendingMigrations:
    def __init__(self) -> None:
        self._tables: dict[str, Table] = {}  # in announce order
        self.force = False
        self.since = 0.0  # monotonic time the oldest waiting table was announced or last chunk
        self._chunk = FIRST_CHUNK

    def __bool__(self) -> bool:
        return bool(self._tables)

    def __contains__(self, name: str) -> bool:
        return name in self._tables

    def add(self, table: Table, force: bool, now: float) -> None:
        if not self._tables:
            self.since = now
        self._tables[table.name] = table
        self.force = force

    def take_all(self) -> list[Table]:
        tables, self._tables = list(self._tables.values()), {}
        return tables

    def take_chunk(self, now: float, through: str | None = None) -> list[Table]:
        """The next chunk, extended to ``through`` if that table comes later."""
        size = self._chunk
        if through is not None:
            size = max(size, list(self._tables).index(through) + 1)
        self._chunk = min(self._chunk * 2, LARGEST_CHUNK)
        names = list(islice(self._tables, size))
        self.since = now
        return [self._tables.pop(n) for n in names]
