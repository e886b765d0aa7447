"""Gather the small inserts an external source sends into record batches per table.

CloudQuery's Python SDK sends one row per insert message. Handed on one by one, every row
costs the engine and the writers a full message's work; joined per table, that cost is paid
once per batch. Order that matters is kept: a table's rows stay in order, and everything
buffered is handed on before any other message (a checkpoint must follow the rows sent before
it; an error, a schema or a delete applies to what came before).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from syncline.messages import Insert

# A table's rows are handed on once this many are buffered (or these many bytes) ...
TABLE_ROWS = 10_000
TABLE_BYTES = 8 * 1024 * 1024
# ... all buffered rows once, over every table, this many are buffered (a memory bound) ...
TOTAL_ROWS = 100_000
# ... and all of them once the oldest waited this long when a message arrives.
MAX_AGE_S = 1.0


@dataclass
class _Buffer:
    schema: pa.Schema
    records: list[pa.RecordBatch] = field(default_factory=list)
    rows: int = 0
    nbytes: int = 0


class InsertCoalescer:
    def __init__(
        self,
        table_rows: int = TABLE_ROWS,
        table_bytes: int = TABLE_BYTES,
        total_rows: int = TOTAL_ROWS,
        max_age_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table_rows, self.table_bytes = table_rows, table_bytes
        self.total_rows = total_rows
        self.max_age_s = MAX_AGE_S if max_age_s is None else max_age_s
        self.clock = clock
        self._buffers: dict[str, _Buffer] = {}
        self._rows = 0
        self._oldest = 0.0

    def add(self, table: str, record: pa.RecordBatch) -> Iterator[Insert]:
        """Buffer one insert; yields the batches that are ready."""
        now = self.clock()
        if self._buffers and now - self._oldest >= self.max_age_s:
            yield from self.flush()
        buf = self._buffers.get(table)
        if buf is not None and not buf.schema.equals(record.schema, check_metadata=True):
            yield from self._take(table)  # a new schema: the old rows go as they were
            buf = None
        if buf is None:
            if record.num_rows >= self.table_rows or record.nbytes >= self.table_bytes:
                yield Insert(table, record)  # large already: nothing to gain
                return
            if not self._buffers:
                self._oldest = now
            buf = self._buffers[table] = _Buffer(record.schema)
        buf.records.append(record)
        buf.rows += record.num_rows
        buf.nbytes += record.nbytes
        self._rows += record.num_rows
        if buf.rows >= self.table_rows or buf.nbytes >= self.table_bytes:
            yield from self._take(table)
        if self._rows >= self.total_rows:
            yield from self.flush()

    def flush(self) -> Iterator[Insert]:
        """Everything buffered, table by table."""
        for table in list(self._buffers):
            yield from self._take(table)

    def _take(self, table: str) -> Iterator[Insert]:
        buf = self._buffers.pop(table)
        self._rows -= buf.rows
        if len(buf.records) == 1:
            yield Insert(table, buf.records[0])
            return
        joined = pa.Table.from_batches(buf.records, schema=buf.schema).combine_chunks()
        for record in joined.to_batches():
            yield Insert(table, record)


def larger_batches(records: Sequence[pa.RecordBatch], limit: int) -> Iterator[pa.RecordBatch]:
    """The records as messages of up to ``limit`` bytes, lazily: a record of at least half
    the limit goes as it is (no copy), a larger one as slices, and runs of smaller ones are
    joined (fewer, larger messages)."""
    group: list[pa.RecordBatch] = []
    size = 0
    for record in records:
        for piece in _pieces(record, limit):
            alone = piece.nbytes * 2 >= limit
            if group and (alone or size + piece.nbytes > limit):
                yield _joined(group)
                group, size = [], 0
            if alone:
                yield piece
                continue
            group.append(piece)
            size += piece.nbytes
    if group:
        yield _joined(group)


def _pieces(record: pa.RecordBatch, limit: int) -> Iterator[pa.RecordBatch]:
    """Zero-copy slices of ``record`` of at most about ``limit`` bytes each."""
    if record.nbytes <= limit or record.num_rows <= 1:
        yield record
        return
    rows = max(1, record.num_rows * limit // record.nbytes)
    for offset in range(0, record.num_rows, rows):
        yield record.slice(offset, rows)


def _joined(group: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(group) == 1:
        return group[0]
    return pa.Table.from_batches(group).combine_chunks().to_batches()[0]
