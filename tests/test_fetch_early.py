"""A table's rows flow as soon as its own schema step is done, not after every table's.

A source of many tables on the real scheduler into a real SQLite destination that records
the order of its calls: the first table is fetched and its rows are written before the
destination migrates the last table, while no table's rows reach the destination before
its own schema step, and a child table's schema step never comes before its parent's.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
from conftest import config

from syncline.config.reader import read_config
from syncline.connectors.sqlite.plugin import SQLiteDestination
from syncline.engine.plugins import resolve_plugins
from syncline.engine.sync import run_sync
from syncline.messages import SyncMessage
from syncline.plugin.contracts import DestinationInfo, SourceInfo, StateReader, SyncOptions
from syncline.scheduler import Resolver, sync_selected
from syncline.schema.internal import with_cq_id_columns
from syncline.schema.table import Column, Table, flatten

TABLES = 300
ROWS = 20  # twice the destination's batch_size below: every table is written while it syncs
CHILD_ROWS = 2  # per parent row


def _table(name: str, *, parent: str | None = None, relations: tuple[Table, ...] = ()) -> Table:
    columns = (Column("id", pa.int64(), primary_key=True), Column("name", pa.utf8()))
    if parent is not None:
        columns = (Column("parent_id", pa.int64(), primary_key=True), *columns)
    return with_cq_id_columns(Table(name, columns, parent=parent, relations=relations))


CHILD = _table("early_0000_child", parent="early_0000")
SOURCE_TABLES = [
    _table("early_0000", relations=(CHILD,)),
    *(_table(f"early_{i:04d}") for i in range(1, TABLES)),
]
LAST = SOURCE_TABLES[-1].name


class Calls:
    """What happened, in order, across the source's resolver threads and the writer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[tuple[str, tuple[str, ...]]] = []

    def add(self, what: str, tables: Sequence[str]) -> None:
        with self._lock:
            self.events.append((what, tuple(tables)))

    def first(self, what: str, table: str) -> int:
        """Index of the first ``what`` event naming ``table``."""
        for i, (kind, names) in enumerate(self.events):
            if kind == what and table in names:
                return i
        raise AssertionError(f"no {what} of {table} in {self.events[:20]}...")


class RecordingSQLite(SQLiteDestination):
    """The real SQLite destination, noting each schema step and each write."""

    calls: Calls

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        self.calls.add("migrate", [t.name for t in tables])
        super().migrate_tables(tables, force)

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        self.calls.add("write", [table.name])
        super().write_batch(table, records)

    def write_tables(self, batches: Sequence[tuple[Table, Sequence[pa.RecordBatch]]]) -> None:
        self.calls.add("write", [t.name for t, _ in batches])
        super().write_tables(batches)


class ManyTablesSource:
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def tables(self) -> list[Table]:
        return SOURCE_TABLES

    def sync(self, options: SyncOptions, state: StateReader) -> Iterator[SyncMessage]:
        resolvers = {t.name: self._resolver(t) for t in flatten(SOURCE_TABLES)}
        yield from sync_selected(
            SOURCE_TABLES,
            options,
            resolvers,
            clients=lambda: [None],
            state=state,
            concurrency=4,
            batch_rows=ROWS,
        )

    def _resolver(self, table: Table) -> Resolver:
        def resolve(client: Any, parent: Any, state: StateReader) -> Iterator[dict[str, Any]]:
            self.calls.add("fetch", [table.name])
            if parent is None:
                for i in range(ROWS):
                    yield {"id": i, "name": f"{table.name}-{i}"}
            else:
                for i in range(CHILD_ROWS):
                    yield {"parent_id": parent["id"], "id": i, "name": f"child-{parent['id']}"}

        return resolve

    def test_connection(self) -> None: ...

    def close(self) -> None: ...


SOURCE = """\
kind: source
spec:
  name: early
  path: cloudquery/test
  tables: ["*"]
  destinations: [dest]
"""


def sync(workdir: Path, target: Path, calls: Calls) -> None:
    dest = f"""\
kind: destination
spec:
  name: dest
  path: cloudquery/sqlite
  spec:
    connection_string: "{target}"
    batch_size: {ROWS // 2}
"""
    (workdir / "early.yml").write_text(config(SOURCE, dest))
    cfg = read_config([str(workdir / "early.yml")])
    plugins = resolve_plugins(cfg)
    source = plugins.sources["early"]
    plugins.sources["early"] = replace(
        source,
        info=SourceInfo(
            path="early",
            spec_model=source.info.spec_model,
            factory=lambda spec, ctx: ManyTablesSource(calls),
        ),
    )
    destination = plugins.destinations["dest"]

    def recording(spec: Any, ctx: Any) -> RecordingSQLite:
        plugin = RecordingSQLite(spec, ctx)
        plugin.calls = calls
        return plugin

    plugins.destinations["dest"] = replace(
        destination, info=replace(destination.info, factory=recording)
    )
    assert isinstance(plugins.destinations["dest"].info, DestinationInfo)
    run_sync(cfg, plugins)


def test_first_tables_are_fetched_and_written_before_the_last_is_migrated(workdir):
    calls = Calls()
    sync(workdir, workdir / "early.sqlite", calls)

    # Every row arrived.
    with sqlite3.connect(workdir / "early.sqlite") as conn:
        for t in SOURCE_TABLES:
            rows = conn.execute(f'select id, name from "{t.name}" order by id').fetchall()
            assert rows == [(i, f"{t.name}-{i}") for i in range(ROWS)], t.name
        children = conn.execute(
            f'select count(*), count(distinct parent_id) from "{CHILD.name}"'
        ).fetchone()
    assert children == (ROWS * CHILD_ROWS, ROWS)

    last_migrated = calls.first("migrate", LAST)
    first = SOURCE_TABLES[0].name
    # The first table was fetched and written before the last table's schema step.
    assert calls.first("fetch", first) < last_migrated
    assert calls.first("write", first) < last_migrated
    # Ordering kept: each table's schema step before any of its rows reached the
    # destination; the parent's schema step no later than its child's.
    for t in flatten(SOURCE_TABLES):
        assert calls.first("migrate", t.name) < calls.first("write", t.name), t.name
    assert calls.first("migrate", first) <= calls.first("migrate", CHILD.name)
    # Each table migrated once, in a few calls that each cover many tables.
    migrations = [
        names
        for kind, names in calls.events
        if kind == "migrate" and any(n.startswith("early_") for n in names)
    ]
    migrated = sorted(name for names in migrations for name in names)
    assert migrated == sorted(t.name for t in flatten(SOURCE_TABLES))
    assert 1 < len(migrations) <= 12
