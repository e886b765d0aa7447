"""Buffer inserts per table and flush by rows, bytes, age or the memory budget, in the order
that keeps meaning.

Rules: a table's buffered rows are written before a migration, delete-stale or delete-record
that touches it. Each flush is one transaction: one table's batch (``write_batch``), or several
small tables together where the destination can (``write_tables``). Queued migrations run in
announce order, in chunks that grow, when rows of a queued table arrive (or a chunk a second
later without rows): a table's rows are buffered once its own schema step is done, without
waiting for every table's, and the destination still reads its catalog once for many tables.

The work per message does not depend on the number of tables: buffers are kept in the order
they received their first row (so the oldest buffer holds the smallest sequence number) and
dropped once flushed. All buffers together stay within one memory budget (``buffer_bytes``):
when a record would exceed it, the oldest buffers are written first, which also lets the
checkpoints waiting on them commit.

Flushes run on one background thread, at most one at a time, so the caller prepares the next
batch while the destination writes the last (drivers release the GIL while they write). Every
other operation waits for the write in flight first, so order is kept.

A destination that streams batches on (``StreamedWrites``, e.g. a plugin over gRPC) is handed
each batch with ``send_batch``, which may return before the rows are committed; its rows count
as durable only once it reports everything sent committed, or after ``commit``, which a flush
calls, and so does a batch timeout with rows still uncommitted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol, cast

import pyarrow as pa

from syncline.plugin.contracts import BatchLimits, DestinationPlugin
from syncline.plugin.errors import SynclineError, WriteError
from syncline.schema.table import Table
from syncline.writers.buffers import Buffer, TableBuffers, groups, within
from syncline.writers.pending import PendingMigrations

log = logging.getLogger("syncline.writers")

TableRecords = tuple[Table, Sequence[pa.RecordBatch]]
# How long queued migrations wait for more tables when no rows come.
_MIGRATION_WAIT_S = 1.0


class GroupWrites(Protocol):
    """What a destination offers to write several tables' batches in one transaction."""

    def write_tables(self, batches: Sequence[TableRecords]) -> None: ...


class StreamedWrites(Protocol):
    """A destination that streams batches on and commits them later. ``send_batch`` returns
    once the rows are on their way, True if everything sent so far is committed by then (the
    destination commits by itself now and then); ``commit`` returns once everything is."""

    def send_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> bool: ...

    def commit(self) -> None: ...


class GroupDeletes(Protocol):
    """What a destination offers to delete stale rows of several tables in one transaction."""

    def delete_stale_tables(
        self, tables: Sequence[Table], source_name: str, sync_time: datetime
    ) -> list[int | None]: ...


def _grouping(plugin: Any) -> tuple[Callable[[Sequence[TableRecords]], None] | None, int]:
    """The destination's grouped write, if any, and the most tables one transaction holds."""
    group = getattr(plugin, "write_tables", None)
    if not callable(group):
        return None, 1
    # A destination may cap it (DuckDB holds each table's uncommitted rows and key index in
    # memory until the commit).
    cap: int = getattr(plugin, "tables_per_transaction", 0) or 1_000_000
    return group, cap


class BatchWriter:
    def __init__(self, name: str, plugin: DestinationPlugin, limits: BatchLimits) -> None:
        self.name = name
        self.plugin = plugin
        self.limits = limits
        self._buffers = TableBuffers()
        self._migrations = PendingMigrations()
        self._last_seq = 0
        self.rows_written = 0
        self.transactions = 0  # write transactions started (grouped tables count once)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"write-{name}")
        self._inflight: Future[bool] | None = None
        self._inflight_seq = 0
        self._inflight_rows = 0
        self._write_tables, self._group_tables = _grouping(plugin)
        send = getattr(plugin, "send_batch", None)
        self._send: Callable[[Table, Sequence[pa.RecordBatch]], bool] | None = (
            send if callable(send) else None
        )
        # The first sequence number sent but not committed yet, and since when.
        self._uncommitted_seq: int | None = None
        self._uncommitted_since = 0.0

    @property
    def buffered_bytes(self) -> int:
        """Arrow bytes of all rows buffered now (at most ``limits.buffer_bytes``)."""
        return self._buffers.bytes

    @property
    def peak_buffered_bytes(self) -> int:  # the most ever buffered at once
        return self._buffers.peak_bytes

    @property
    def durable_seq(self) -> int:
        """Every insert with a sequence number <= this is committed at the destination."""
        pending = self._buffers.oldest_seq
        if self._inflight is not None:
            if self._inflight.done() and self._inflight.exception() is None:
                self._settle()
            else:
                seq = self._inflight_seq
                pending = seq if pending is None else min(pending, seq)
        if self._uncommitted_seq is not None:
            seq = self._uncommitted_seq
            pending = seq if pending is None else min(pending, seq)
        return pending - 1 if pending is not None else self._last_seq

    def _settle(self) -> None:
        """Wait for the write in flight; raise its error."""
        if self._inflight is None:
            return
        future, self._inflight = self._inflight, None
        committed = future.result()
        self.rows_written += self._inflight_rows
        if committed:
            self._uncommitted_seq = None

    def _commit_sent(self) -> None:
        """Wait until every row sent to a streaming destination is committed."""
        self._settle()
        if self._uncommitted_seq is not None:
            self._call("insert", cast(StreamedWrites, self.plugin).commit)
            self._uncommitted_seq = None

    def close(self) -> None:
        """Also create the tables announced but not migrated yet (the sync failed first)."""
        try:
            self._run_migrations()
        finally:
            self._pool.shutdown(wait=True)

    # -- migrations ------------------------------------------------------------------------

    def queue_migration(self, tables: Sequence[Table], force: bool) -> None:
        """Migrate before the next write; queued tables are migrated in one call."""
        for t in tables:
            self.flush_table(t.name)  # rows of the earlier schema first
            if t.name in self._migrations or (self._migrations and force != self._migrations.force):
                self._run_migrations()
            self._migrations.add(t, force, time.monotonic())

    def migrate(self, tables: Sequence[Table], force: bool) -> None:
        """Migrate now (with whatever is queued)."""
        self.queue_migration(tables, force)
        self._run_migrations()

    def _run_migrations(self) -> None:
        """Every queued migration."""
        if self._migrations:
            self._migrate(self._migrations.take_all())

    def _migrate_chunk(self, through: str | None = None) -> None:
        """The next chunk of queued migrations (through ``through``'s, if that is queued)."""
        if through is None or through in self._migrations:
            self._migrate(self._migrations.take_chunk(time.monotonic(), through))

    def _migrate(self, tables: list[Table]) -> None:
        if not tables:
            return
        self._commit_sent()  # a streaming destination ends its stream first anyway
        self._call("migrate", self.plugin.migrate_tables, tables, self._migrations.force)

    # -- inserts ---------------------------------------------------------------------------

    def insert(self, table: Table, record: pa.RecordBatch, seq: int) -> None:
        # The table's own schema step first; other tables' wait for their rows (or a flush).
        self._migrate_chunk(table.name)
        self._last_seq = max(self._last_seq, seq)
        try:
            prepared = self.plugin.prepare(table, record)
        except Exception as e:
            raise WriteError(
                f"destination {self.name}: cannot convert rows of {table.name}: {e}"
            ) from e
        offset = 0
        while offset < prepared.num_rows:
            buf = self._buffers.get(table.name)
            if buf is not None and buf.table is not table and buf.table != table:
                self.flush_table(table.name)  # a new schema: the old rows first
                buf = None
            # Fill the table's buffer exactly up to batch_size rows, then flush.
            room = self.limits.rows - (buf.rows if buf is not None else 0)
            piece = within(prepared.slice(offset, room), self.limits.buffer_bytes)
            self._append(table, piece, seq)
            offset += piece.num_rows

    def _append(self, table: Table, record: pa.RecordBatch, seq: int) -> None:
        size = record.nbytes
        if self._buffers.bytes + size > self.limits.buffer_bytes:
            # The oldest first, down to half the budget, so that a full budget is not
            # followed by one small flush per record.
            self._flush_names(self._buffers.oldest_until(self.limits.buffer_bytes // 2 - size))
        buf = self._buffers.add(table, record, seq, time.monotonic())
        if buf.rows >= self.limits.rows or buf.bytes >= self.limits.bytes:
            self.flush_table(table.name)

    # -- flushes ---------------------------------------------------------------------------

    def flush_table(self, name: str) -> None:
        self._flush_names([name])

    def _flush_names(self, names: Iterable[str]) -> None:
        """Write these tables' buffers, small ones together where the destination can."""
        for group in groups(self._buffers.take(names), self.limits, self._group_tables):
            self._submit(group)

    def _submit(self, group: list[Buffer]) -> None:
        # Buffered rows are of migrated tables only (insert migrates first): no migration here.
        self._settle()
        self._inflight_seq = min(b.first_seq for b in group)
        self._inflight_rows = sum(b.rows for b in group)
        if self._send is not None and len(group) == 1:  # sent on, committed later
            if self._uncommitted_seq is None:
                self._uncommitted_since = time.monotonic()
                self._uncommitted_seq = self._inflight_seq
            self._uncommitted_seq = min(self._uncommitted_seq, self._inflight_seq)
        self.transactions += 1
        self._inflight = self._pool.submit(self._write, group)

    def _write(self, group: list[Buffer]) -> bool:
        """Write one group; False if its rows are sent but not committed yet."""
        started = time.monotonic()
        committed = True
        if len(group) == 1 and self._send is not None:
            committed = self._call("insert", self._send, group[0].table, group[0].records)
        elif len(group) == 1:
            self._call("insert", self.plugin.write_batch, group[0].table, group[0].records)
        else:
            assert self._write_tables is not None
            self._call("insert", self._write_tables, [(b.table, b.records) for b in group])
        log.debug(
            "batch flushed",
            extra={
                "destination": self.name,
                "table": group[0].table.name if len(group) == 1 else f"{len(group)} tables",
                "rows": sum(b.rows for b in group),
                "bytes": sum(b.bytes for b in group),
                "duration_ms": round((time.monotonic() - started) * 1000),
                "committed": committed,
            },
        )
        return bool(committed)

    def flush_expired(self) -> None:
        now = time.monotonic()
        if self._migrations and now - self._migrations.since >= _MIGRATION_WAIT_S:
            self._migrate_chunk()  # tables announced a while ago, with no rows yet
        if self._buffers:
            self._flush_names(self._buffers.expired(now, self.limits.timeout_s))
        uncommitted = self._uncommitted_seq is not None
        if uncommitted and now - self._uncommitted_since >= self.limits.timeout_s:
            self._commit_sent()

    def flush(self) -> None:
        """Write everything buffered and wait until it is committed."""
        self._run_migrations()
        self._flush_names(self._buffers.names())
        self._commit_sent()

    # -- deletes ---------------------------------------------------------------------------

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int | None:
        """Rows deleted, when the destination can tell."""
        return self.delete_stale_tables([table], source_name, sync_time)[0]

    def delete_stale_tables(
        self, tables: Sequence[Table], source_name: str, sync_time: datetime
    ) -> list[int | None]:
        """Rows deleted per table (None where the destination cannot tell); one transaction
        for all where the destination can."""
        self._run_migrations()
        self._flush_names([t.name for t in tables])
        self._commit_sent()
        group = getattr(self.plugin, "delete_stale_tables", None)
        if callable(group) and len(tables) > 1:
            counts = self._call("delete stale", group, tables, source_name, sync_time)
        else:
            counts = [
                self._call("delete stale", self.plugin.delete_stale, t, source_name, sync_time)
                for t in tables
            ]
        return [n if isinstance(n, int) else None for n in counts]

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
