"""Rows waiting to be written, per table, kept so that every question costs the same at
1,000 tables as at one: buffers in the order they received their first row (the oldest
first, also the smallest sequence number), dropped once taken, and their total size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import takewhile

import pyarrow as pa

from syncline.plugin.contracts import BatchLimits
from syncline.schema.table import Table


@dataclass
class Buffer:
    table: Table
    first_seq: int
    since: float  # monotonic time of the first row
    records: list[pa.RecordBatch] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0


class TableBuffers:
    def __init__(self) -> None:
        self._buffers: dict[str, Buffer] = {}  # only buffers holding rows, oldest first
        self.bytes = 0
        self.peak_bytes = 0

    def __bool__(self) -> bool:
        return bool(self._buffers)

    def get(self, name: str) -> Buffer | None:
        return self._buffers.get(name)

    def add(self, table: Table, record: pa.RecordBatch, seq: int, now: float) -> Buffer:
        buf = self._buffers.get(table.name)
        if buf is None:
            buf = self._buffers[table.name] = Buffer(table, seq, now)
        buf.records.append(record)
        buf.rows += record.num_rows
        buf.bytes += record.nbytes
        self.bytes += record.nbytes
        self.peak_bytes = max(self.peak_bytes, self.bytes)
        return buf

    def take(self, names: Iterable[str]) -> list[Buffer]:
        """Remove these tables' buffers (those that hold rows), in the given order."""
        taken = [b for b in (self._buffers.pop(n, None) for n in names) if b is not None]
        self.bytes -= sum(b.bytes for b in taken)
        return taken

    @property
    def oldest_seq(self) -> int | None:
        return next(iter(self._buffers.values())).first_seq if self._buffers else None

    def names(self) -> list[str]:
        return list(self._buffers)

    def oldest_until(self, target: int) -> list[str]:
        """The oldest tables whose buffers, once written, leave at most ``target`` bytes."""
        left = self.bytes
        out: list[str] = []
        for name, buf in self._buffers.items():
            if left <= target:
                break
            out.append(name)
            left -= buf.bytes
        return out

    def expired(self, now: float, timeout_s: float) -> list[str]:
        """Tables whose first buffered row is at least ``timeout_s`` old (the oldest first)."""
        old = takewhile(lambda b: now - b.since >= timeout_s, self._buffers.values())
        return [b.table.name for b in old]


def groups(buffers: list[Buffer], limits: BatchLimits, max_tables: int) -> Iterator[list[Buffer]]:
    """Consecutive buffers packed into transactions of at most a batch's rows and bytes and
    ``max_tables`` tables (a buffer larger than that is a transaction of its own)."""
    group: list[Buffer] = []
    rows = size = 0
    for buf in buffers:
        fits = (
            rows + buf.rows <= limits.rows
            and size + buf.bytes <= limits.bytes
            and len(group) < max_tables
        )
        if group and not fits:
            yield group
            group, rows, size = [], 0, 0
        group.append(buf)
        rows += buf.rows
        size += buf.bytes
    if group:
        yield group


def within(piece: pa.RecordBatch, budget: int) -> pa.RecordBatch:
    """A leading slice of ``piece`` no larger than ``budget`` bytes (at least one row)."""
    if piece.nbytes <= budget or piece.num_rows <= 1:
        return piece
    rows = max(1, piece.num_rows * budget // piece.nbytes)
    while rows > 1 and piece.slice(0, rows).nbytes > budget:
        rows //= 2
    return piece.slice(0, rows)
