"""Buffer inserts per table and flush by rows, bytes or age, in the order that keeps meaning.

Rules: a table's buffered rows are written before a migration, delete-stale or delete-record
that touches it. Each flush is one ``write_batch`` call (one transaction). The writer tracks
which insert sequence numbers are durable so the engine can commit checkpoints safely.

Flushes run on one background thread, at most one at a time, so the caller prepares the next
batch while the destination writes the last (drivers release the GIL while they write). Every
other operation waits for the write in flight first, so order is kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from syncline.plugin.contracts import BatchLimits, DestinationPlugin
from syncline.plugin.errors import SynclineError, WriteError
from syncline.schema.table import Table

log = logging.getLogger("syncline.writers")


@dataclass
class _Buffer:
    table: Table
    records: list[pa.RecordBatch] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    first_seq: int = 0
    since: float = 0.0


class BatchWriter:
    def __init__(self, name: str, plugin: DestinationPlugin, limits: BatchLimits) -> None:
        self.name = name
        self.plugin = plugin
        self.limits = limits
        self._buffers: dict[str, _Buffer] = {}
        self._last_seq = 0
        self.rows_written = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"write-{name}")
        self._inflight: Future[None] | None = None
        self._inflight_seq = 0
        self._inflight_rows = 0

    @property
    def durable_seq(self) -> int:
        """Every insert with a sequence number <= this is committed at the destination."""
        pending = [b.first_seq for b in self._buffers.values() if b.records]
        if self._inflight is not None:
            if self._inflight.done() and self._inflight.exception() is None:
                self._settle()
            else:
                pending.append(self._inflight_seq)
        return min(pending) - 1 if pending else self._last_seq

    def _settle(self) -> None:
        """Wait for the write in flight; raise its error."""
        if self._inflight is None:
            return
        future, self._inflight = self._inflight, None
        future.result()
        self.rows_written += self._inflight_rows

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def migrate(self, tables: Sequence[Table], force: bool) -> None:
        for t in tables:
            self.flush_table(t.name)
        self._settle()
        self._call("migrate", self.plugin.migrate_tables, tables, force)

    def insert(self, table: Table, record: pa.RecordBatch, seq: int) -> None:
        self._last_seq = max(self._last_seq, seq)
        try:
            prepared = self.plugin.prepare(table, record)
        except Exception as e:
            raise WriteError(
                f"destination {self.name}: cannot convert rows of {table.name}: {e}"
            ) from e
        offset = 0
        while offset < prepared.num_rows:
            # Fill the table's buffer exactly up to batch_size rows, then flush.
            buf = self._buffers.get(table.name)
            room = self.limits.rows - (buf.rows if buf is not None and buf.table == table else 0)
            self._append(table, prepared.slice(offset, room), seq)
            offset += room

    def _append(self, table: Table, record: pa.RecordBatch, seq: int) -> None:
        buf = self._buffers.get(table.name)
        if buf is None or buf.table != table:
            if buf is not None:
                self.flush_table(table.name)
            buf = self._buffers[table.name] = _Buffer(table)
        if not buf.records:
            buf.first_seq = seq
            buf.since = time.monotonic()
        buf.records.append(record)
        buf.rows += record.num_rows
        buf.bytes += record.nbytes
        if buf.rows >= self.limits.rows or buf.bytes >= self.limits.bytes:
            self.flush_table(table.name)

    def flush_table(self, name: str) -> None:
        buf = self._buffers.get(name)
        if buf is None or not buf.records:
            return
        self._settle()
        table, records = buf.table, buf.records
        self._inflight_seq, self._inflight_rows = buf.first_seq, buf.rows
        rows, size = buf.rows, buf.bytes
        buf.records, buf.rows, buf.bytes = [], 0, 0
        self._inflight = self._pool.submit(self._write, table, records, rows, size)

    def _write(self, table: Table, records: list[pa.RecordBatch], rows: int, size: int) -> None:
        started = time.monotonic()
        self._call("insert", self.plugin.write_batch, table, records)
        log.debug(
            "batch flushed",
            extra={
                "destination": self.name,
                "table": table.name,
                "rows": rows,
                "bytes": size,
                "duration_ms": round((time.monotonic() - started) * 1000),
            },
        )

    def flush_expired(self) -> None:
        now = time.monotonic()
        for name, buf in list(self._buffers.items()):
            if buf.records and now - buf.since >= self.limits.timeout_s:
                self.flush_table(name)

    def flush(self) -> None:
        """Write everything buffered and wait until it is committed."""
        for name in list(self._buffers):
            self.flush_table(name)
        self._settle()

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int | None:
        """Rows deleted, when the destination can tell."""
        self.flush_table(table.name)
        self._settle()
        deleted = self._call(
            "delete stale", self.plugin.delete_stale, table, source_name, sync_time
        )
        return deleted if isinstance(deleted, int) else None

    def delete_record(self, table: Table, where: Mapping[str, Any]) -> None:
        self.flush()  # child tables may hold rows of the deleted parent
        self._call("delete record", self.plugin.delete_record, table, where)

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except SynclineError:
            raise
        except Exception as e:
            raise WriteError(f"destination {self.name}: {what} failed: {e}") from e
