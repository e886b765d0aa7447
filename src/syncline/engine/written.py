"""Rows per table as they become durable on every destination (for progress and durations).

Each insert's sequence number is remembered with its table and row count; when the ledger's
watermark passes it, those rows are written. Work per insert is constant, whatever the number
of tables.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator


class WrittenRows:
    def __init__(self) -> None:
        self._pending: deque[tuple[int, str, int]] = deque()

    def inserted(self, seq: int, table: str, rows: int) -> None:
        self._pending.append((seq, table, rows))

    def durable(self, watermark: int) -> Iterator[tuple[str, int]]:
        """(table, rows) of the inserts now durable, in the order they were sent."""
        while self._pending and self._pending[0][0] <= watermark:
            _, table, rows = self._pending.popleft()
            yield table, rows
