"""Run a source's table resolvers with bounded concurrency and emit messages in a legal order.

Order guaranteed to consumers: a MigrateTable for every selected table first (parents before
children); then Inserts, each a record batch of one table; a parent's rows are emitted before
the child rows resolved from them; a Checkpoint comes after the rows its resolver yielded before
it; a table's TableDone (and its children's) once every resolver of it has finished, after
all its messages. A table's resolvers start as soon as its MigrateTable is out, not after every
table's, so the first tables' rows are ready while the last tables' schemas are announced.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from syncline.messages import Checkpoint, Insert, MigrateTable, SyncError, SyncMessage, TableDone
from syncline.plugin.contracts import NoState, StateReader, SyncOptions
from syncline.schema.arrow import column_array, rows_to_record, to_arrow_schema
from syncline.schema.internal import (
    CQ_ID,
    CQ_PARENT_ID,
    cq_id_key_columns,
    deterministic_uuids,
    random_uuids,
)
from syncline.schema.selection import select_tables
from syncline.schema.table import Table, flatten
from syncline.schema.types import UUID

# pyarrow.compute is imported where it is used: it is slow to load (about 0.1 s), and a sync
# that finds nothing new needs none of it.

Row = Mapping[str, Any]
# The one way a source reads a table: its resolver gets the client, the parent row (None for
# top-level tables) and the committed cursors, and yields row dicts, record batches (bulk
# rows) or Checkpoints (after the rows they cover).
Resolver = Callable[[Any, Row | None, StateReader], Iterable[Row | pa.RecordBatch | Checkpoint]]

MAX_DEPTH = 4


@dataclass(frozen=True)
class _Finished:
    """A worker's last message: one resolver of ``table`` (children included) is done."""

    table: Table


@dataclass(frozen=True)
class SchedulerOptions:
    concurrency: int = 8
    batch_rows: int = 10_000
    batch_timeout_s: float = 5.0
    deterministic_cq_id: bool = False
    shard: tuple[int, int] | None = None
    queue_size: int = 16


class _Stopped(Exception):
    pass


class _Running:
    """The resolvers of a run, per table: which are still running, which tables are done."""

    def __init__(self, pairs: list[tuple[Table, Any]]) -> None:
        self.clients: dict[str, list[Any]] = {}
        for t, c in pairs:
            self.clients.setdefault(t.name, []).append(c)
        self.remaining = len(pairs)
        self._unfinished = Counter(t.name for t, _ in pairs)
        self.done: set[str] = set()

    def finished(self, table: Table) -> list[Table]:
        """One resolver of ``table`` ended; the tables (children included) now done."""
        self.remaining -= 1
        self._unfinished[table.name] -= 1
        if self._unfinished[table.name]:
            return []
        tables = flatten([table])
        self.done.update(t.name for t in tables)
        return tables


class Scheduler:
    def __init__(
        self,
        tables: list[Table],
        resolvers: Mapping[str, Resolver],
        clients: Sequence[Any],
        options: SchedulerOptions | None = None,
        logger: logging.Logger | None = None,
        state: StateReader | None = None,
    ) -> None:
        self.tables = tables
        self.resolvers = resolvers
        self.state = state or NoState()
        self.clients = list(clients) or [None]
        self.opts = options or SchedulerOptions()
        self.log = logger or logging.getLogger("syncline.scheduler")
        self._schemas = {t.name: to_arrow_schema(t) for t in flatten(tables)}
        self._errors: dict[str, int] = {}
        self._lock = threading.Lock()
        self._out: queue.Queue[Any] = queue.Queue(maxsize=self.opts.queue_size)
        self._stop = threading.Event()
        for t, depth in _depths(tables):
            if depth > MAX_DEPTH:
                raise ValueError(f"table {t.name}: max depth exceeded, max depth is {MAX_DEPTH}")

    def run(self) -> Iterator[SyncMessage]:
        pairs = [(t, c) for t in self.tables for c in self.clients]
        if self.opts.shard is not None:
            num, total = self.opts.shard
            size = math.ceil(len(pairs) / total) if pairs else 0
            pairs = pairs[(num - 1) * size : num * size]
        workers = max(1, min(self.opts.concurrency, len(pairs) or 1))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="resolver")
        running = _Running(pairs)
        futures = []

        def forward(item: Any) -> Iterator[SyncMessage]:
            if not isinstance(item, _Finished):
                yield item
                return
            for t in running.finished(item.table):
                yield TableDone(t.name, ok=self._errors.get(t.name, 0) == 0)

        try:
            # A table's resolvers start as soon as its schema (and its children's) is out;
            # their messages wait in the queue until every schema is.
            announced: set[str] = set()
            for root in self.tables:
                for t in flatten([root]):
                    if t.name not in announced:
                        announced.add(t.name)
                        yield MigrateTable(t)
                for c in running.clients.get(root.name, []):
                    futures.append(pool.submit(self._run_pair, root, c))
            while running.remaining:
                yield from forward(self._out.get())
            for f in futures:
                f.result()  # surface bugs in the scheduler itself
        finally:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
        for t in flatten(self.tables):
            if t.name not in running.done:  # not in this shard
                yield TableDone(t.name, ok=self._errors.get(t.name, 0) == 0)

    # -- worker side ---------------------------------------------------------------------

    def _emit(self, msg: Any) -> None:
        while True:
            if self._stop.is_set():
                raise _Stopped
            try:
                self._out.put(msg, timeout=0.2)
                return
            except queue.Full:
                continue

    def _run_pair(self, table: Table, client: Any) -> None:
        try:
            self._resolve(table, client, None)
        except _Stopped:
            pass
        finally:
            with contextlib.suppress(_Stopped):
                self._emit(_Finished(table))

    def _error(self, table: Table, message: str) -> None:
        with self._lock:
            self._errors[table.name] = self._errors.get(table.name, 0) + 1
        self.log.error("table %s: %s", table.name, message)
        self._emit(SyncError(table.name, message))

    def _resolve(self, table: Table, client: Any, parent: Row | None) -> None:
        resolver = self.resolvers.get(table.name)
        if resolver is None:
            self._error(table, "no resolver for table")
            return
        rows: list[Row] = []
        started = time.monotonic()

        def flush() -> None:
            nonlocal rows, started
            if rows:
                pending, rows = rows, []
                self._emit_batch(
                    table, client, parent, rows_to_record(self._schemas[table.name], pending)
                )
            started = time.monotonic()

        try:
            for item in resolver(client, parent, self.state):
                if isinstance(item, Checkpoint):
                    flush()
                    self._emit(item)
                elif isinstance(item, pa.RecordBatch):
                    flush()
                    self._emit_batch(table, client, parent, item)
                else:
                    rows.append(item)
                    if (
                        len(rows) >= self.opts.batch_rows
                        or time.monotonic() - started >= self.opts.batch_timeout_s
                    ):
                        flush()
            flush()
        except _Stopped:
            raise
        except Exception as e:  # a resolver failure is counted, not fatal
            flush()
            self._error(table, f"table resolver finished with error: {e}")

    def _emit_batch(
        self, table: Table, client: Any, parent: Row | None, record: pa.RecordBatch
    ) -> None:
        record = self._complete(table, parent, record)
        if record.num_rows == 0:
            return
        self._emit(Insert(table.name, record))
        if table.relations:
            for row in record.to_pylist():
                for child in table.relations:
                    self._resolve(child, client, row)

    def _complete(self, table: Table, parent: Row | None, record: pa.RecordBatch) -> pa.RecordBatch:
        """Align to the table schema, drop rows missing a primary key, fill _cq_id/_cq_parent_id."""
        schema = self._schemas[table.name]
        n = record.num_rows
        arrays = []
        for f in schema:
            idx = record.schema.get_field_index(f.name)
            if idx >= 0:
                col = record.column(idx)
                arrays.append(col if col.type == f.type else col.cast(f.type))
            else:
                arrays.append(pa.nulls(n, type=f.type))
        out = pa.RecordBatch.from_arrays(arrays, schema=schema)
        out = self._drop_missing_keys(table, out)
        n = out.num_rows
        keys = cq_id_key_columns(table, self.opts.deterministic_cq_id)
        ids = deterministic_uuids(out, keys) if keys else random_uuids(n)
        out = out.set_column(schema.get_field_index(CQ_ID), schema.field(CQ_ID), ids)
        if parent is not None and parent.get(CQ_ID) is not None:
            parent_ids = column_array(UUID, [parent[CQ_ID]] * n)
            out = out.set_column(
                schema.get_field_index(CQ_PARENT_ID), schema.field(CQ_PARENT_ID), parent_ids
            )
        return out

    def _drop_missing_keys(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        import pyarrow.compute as pc

        pks = [c for c in table.primary_keys if c != CQ_ID]
        if not pks or all(
            record.column(record.schema.get_field_index(c)).null_count == 0 for c in pks
        ):
            return record
        mask = None
        for c in pks:
            valid = pc.is_valid(record.column(record.schema.get_field_index(c)))
            mask = valid if mask is None else pc.and_(mask, valid)
        kept = record.filter(mask)
        self._error(
            table,
            f"missing primary key on columns {pks}: {record.num_rows - kept.num_rows} rows dropped",
        )
        return kept


def _depths(roots: list[Table]) -> Iterator[tuple[Table, int]]:
    """Every table with its depth (1 for top-level tables), in one walk."""
    stack = [(t, 1) for t in roots]
    while stack:
        t, depth = stack.pop()
        yield t, depth
        stack.extend((c, depth + 1) for c in t.relations)


def sync_selected(
    tables: list[Table],
    options: SyncOptions,
    resolvers: Mapping[str, Resolver],
    clients: Callable[[], Sequence[Any]],
    *,
    state: StateReader,
    concurrency: int,
    batch_rows: int,
    logger: logging.Logger | None = None,
) -> Iterator[SyncMessage]:
    """What a source's ``sync`` does: select tables by the sync options, then run them.

    ``clients`` is called only once the selection is valid, so a bad pattern is reported
    before anything connects.
    """
    selected = select_tables(
        tables, options.tables, options.skip_tables, options.skip_dependent_tables
    )
    scheduler = Scheduler(
        selected,
        resolvers,
        clients(),
        SchedulerOptions(
            concurrency=concurrency,
            batch_rows=batch_rows,
            deterministic_cq_id=options.deterministic_cq_id,
            shard=options.shard,
        ),
        logger,
        state,
    )
    return scheduler.run()
