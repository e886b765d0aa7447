"""Many small tables into real SQLite, DuckDB and PostgreSQL destinations: every row and
delete-stale right, the memory budget kept, small tables sharing transactions.

The rows come from a small in-process source of 1,000 tables; everything after it is the
real engine and the real destination.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pytest
from conftest import config, wait_for

from syncline.config.reader import read_config
from syncline.connectors.sqlite.plugin import SQLiteDestination, SQLiteSpec
from syncline.engine.plugins import resolve_plugins
from syncline.engine.sync import run_sync
from syncline.messages import Insert, MigrateTable, SyncMessage
from syncline.plugin.contracts import BatchLimits, PluginContext, SourceInfo
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.table import Column, Table
from syncline.writers.batch import BatchWriter

TABLES = 1_000
TABLE_LIST = [
    Table(
        f"many_{i:04d}",
        columns=(
            Column("id", pa.int64(), primary_key=True),
            Column("name", pa.utf8()),
        ),
    )
    for i in range(TABLES)
]


def record(table: Table, ids: range) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array(list(ids), pa.int64()), pa.array([f"{table.name}-{i}" for i in ids])],
        schema=to_arrow_schema(table),
    )


class ManyTables:
    """Rows ``first..first+rows-1`` of every table (a later run may start further on)."""

    def __init__(self, first: int, rows: int, tables: list[Table] = TABLE_LIST) -> None:
        self.ids = range(first, first + rows)
        self.selected = tables

    def tables(self) -> list[Table]:
        return self.selected

    def sync(self, options: Any, state: Any) -> Iterator[SyncMessage]:
        for t in self.selected:
            yield MigrateTable(t)
        for t in self.selected:
            yield Insert(t.name, record(t, self.ids))

    def test_connection(self) -> None: ...

    def close(self) -> None: ...


SOURCE = """\
kind: source
spec:
  name: many
  path: cloudquery/test
  tables: ["*"]
  destinations: [dest]
"""


def dest_doc(kind: str, target: str) -> str:
    return f"""\
kind: destination
spec:
  name: dest
  path: cloudquery/{kind}
  spec:
    connection_string: "{target}"
"""


def sync(workdir: Path, kind: str, target: str, source: ManyTables) -> None:
    (workdir / "many.yml").write_text(config(SOURCE, dest_doc(kind, target)))
    cfg = read_config([str(workdir / "many.yml")])
    plugins = resolve_plugins(cfg)
    resolved = plugins.sources["many"]
    info = SourceInfo(
        path="many",
        spec_model=resolved.info.spec_model,
        factory=lambda spec, ctx: source,
    )
    plugins.sources["many"] = replace(resolved, info=info)
    run_sync(cfg, plugins)


def rows_of(kind: str, target: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's (id, name) rows, by table."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    selects = [(t.name, f'select id, name from "{t.name}" order by id') for t in TABLE_LIST]
    if kind == "sqlite":
        with sqlite3.connect(target) as conn:
            for name, sql in selects:
                out[name] = conn.execute(sql).fetchall()
    elif kind == "duckdb":
        with duckdb.connect(target) as conn:
            for name, sql in selects:
                out[name] = conn.execute(sql).fetchall()
    else:
        with psycopg.connect(target) as conn:
            for name, sql in selects:
                out[name] = conn.execute(sql).fetchall()
    return out


@pytest.fixture(
    params=[
        "sqlite",
        # DuckDB keeps a key index per table and PostgreSQL creates each table and its
        # staging table: tens of seconds for 1,000 tables on a busy machine.
        pytest.param("duckdb", marks=pytest.mark.slow),
        pytest.param("postgresql", marks=[pytest.mark.pg, pytest.mark.slow]),
    ]
)
def target(request, workdir):
    if request.param == "postgresql":
        return "postgresql", request.getfixturevalue("pg_url")
    return request.param, str(workdir / f"many.{request.param}")


def test_thousand_tables_rows_and_delete_stale(workdir, target):
    kind, where = target
    sync(workdir, kind, where, ManyTables(first=0, rows=3))
    first = rows_of(kind, where)
    assert first == {t.name: [(i, f"{t.name}-{i}") for i in range(3)] for t in TABLE_LIST}

    # The second run no longer has ids 0 and 1: delete-stale removes them from every table.
    sync(workdir, kind, where, ManyTables(first=2, rows=3))
    second = rows_of(kind, where)
    assert second == {t.name: [(i, f"{t.name}-{i}") for i in range(2, 5)] for t in TABLE_LIST}


# -- the writer's budget and grouping, against a real SQLite file ---------------------------


def sqlite_writer(path: Path, budget: int) -> tuple[BatchWriter, SQLiteDestination]:
    plugin = SQLiteDestination(
        SQLiteSpec(connection_string=str(path)), PluginContext(name="budget")
    )
    limits = BatchLimits(rows=10_000, bytes=10 * 1024 * 1024, timeout_s=3600, buffer_bytes=budget)
    return BatchWriter("budget", plugin, limits), plugin


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f'select count(*) from "{table}"').fetchone()[0])


def test_buffered_rows_stay_within_the_memory_budget(tmp_path):
    budget = 16 * 1024
    tables = TABLE_LIST[:200]
    writer, plugin = sqlite_writer(tmp_path / "budget.sqlite", budget)
    try:
        writer.queue_migration(tables, force=False)
        seq = 0
        # Five rounds over the tables: each buffer grows while the others do.
        for round_ in range(5):
            for t in tables:
                seq += 1
                writer.insert(t, record(t, range(round_ * 5, round_ * 5 + 5)), seq)
                assert writer.buffered_bytes <= budget
        assert 0 < writer.peak_buffered_bytes <= budget
        # The oldest buffers went first: the first table was written before the end, and
        # the checkpoints up to its rows are safe.
        assert count(tmp_path / "budget.sqlite", tables[0].name) > 0
        assert writer.durable_seq > 0
        writer.flush()
        assert writer.buffered_bytes == 0
        assert writer.durable_seq == seq
    finally:
        writer.close()
        plugin.close()
    assert all(count(tmp_path / "budget.sqlite", t.name) == 25 for t in tables)
    assert writer.rows_written == 25 * len(tables)
    # Small tables share transactions: fewer than one per table.
    assert writer.transactions < len(tables)


def test_a_record_larger_than_the_budget_is_written_in_slices(tmp_path):
    budget = 16 * 1024
    writer, plugin = sqlite_writer(tmp_path / "slices.sqlite", budget)
    table = TABLE_LIST[0]
    try:
        writer.migrate([table], force=False)
        big = record(table, range(5_000))
        assert big.nbytes > 4 * budget
        writer.insert(table, big, 1)
        assert writer.peak_buffered_bytes <= budget
        writer.flush()
    finally:
        writer.close()
        plugin.close()
    assert count(tmp_path / "slices.sqlite", table.name) == 5_000


def test_flush_expired_writes_only_the_old_buffers(tmp_path):
    writer, plugin = sqlite_writer(tmp_path / "expired.sqlite", 1024 * 1024)
    writer.limits = replace(writer.limits, timeout_s=0)  # everything buffered is old
    old, new = TABLE_LIST[0], TABLE_LIST[1]
    try:
        writer.migrate([old, new], force=False)
        writer.insert(old, record(old, range(3)), 1)
        writer.flush_expired()
        writer.limits = replace(writer.limits, timeout_s=3600)
        writer.insert(new, record(new, range(3)), 2)
        writer.flush_expired()
        # the old table is written, the new one waits
        wait_for(lambda: writer.durable_seq == 1, "the old buffer written")
        assert count(tmp_path / "expired.sqlite", old.name) == 3
        assert count(tmp_path / "expired.sqlite", new.name) == 0
        writer.flush()
        assert writer.durable_seq == 2
    finally:
        writer.close()
        plugin.close()
    assert count(tmp_path / "expired.sqlite", new.name) == 3


# -- PostgreSQL's server log ----------------------------------------------------------------


@pytest.mark.pg
def test_a_postgresql_sync_leaves_no_transaction_warnings(workdir, pg_server, pg_url):
    log = Path(pg_server.root) / "log"
    start = log.stat().st_size
    sync(workdir, "postgresql", pg_url, ManyTables(0, 3, TABLE_LIST[:20]))
    # the second run upserts and deletes stale rows
    sync(workdir, "postgresql", pg_url, ManyTables(1, 3, TABLE_LIST[:20]))
    with psycopg.connect(pg_url) as conn:
        ids = conn.execute('select id from "many_0019" order by id').fetchall()
    assert ids == [(1,), (2,), (3,)]
    with log.open("rb") as f:
        f.seek(start)
        written = f.read().decode(errors="replace")
    assert "there is already a transaction in progress" not in written
    assert "there is no transaction in progress" not in written
