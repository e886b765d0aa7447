"""The PostgreSQL source with many tables: few catalog statements, few connections, every row."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest
from conftest import config, query, sqlite_doc

from syncline.connectors.postgresql_source import connections
from syncline.connectors.postgresql_source.plugin import PostgreSQLSource, PostgreSQLSourceSpec
from syncline.messages import Insert, MigrateTable, TableDone
from syncline.plugin.contracts import SyncOptions

pytestmark = pytest.mark.pg


class _CountingCursor:
    def __init__(self, cursor: Any, statements: list[str]) -> None:
        self._cursor, self._statements = cursor, statements

    def execute(self, sql: str, *args: Any) -> Any:
        self._statements.append(sql)
        return self._cursor.execute(sql, *args)

    def stream(self, sql: str, *args: Any) -> Any:
        self._statements.append(sql)
        return self._cursor.stream(sql, *args)

    def __enter__(self) -> _CountingCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _CountingConnection:
    """A real ADBC connection that records each statement run on it."""

    def __init__(self, conn: Any, statements: list[str]) -> None:
        self._conn, self._statements = conn, statements

    def cursor(self) -> _CountingCursor:
        return _CountingCursor(self._conn.cursor(), self._statements)

    def close(self) -> None:
        self._conn.close()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {"statements": [], "connections": []}
    real = connections.open_connection

    def open_counted(url: str) -> Any:
        conn = _CountingConnection(real(url), seen["statements"])
        seen["connections"].append(conn)
        return conn

    monkeypatch.setattr(connections, "open_connection", open_counted)
    return seen


def _create_tables(url: str, count: int, rows: int, arrays: bool = False) -> None:
    extra = ", tags text[], grid int[]" if arrays else ""
    fill = ", ARRAY['a', 'b'], ARRAY[g, g]" if arrays else ""
    statements = []
    for i in range(count):
        statements.append(
            f"CREATE TABLE t{i:04d} (id bigint PRIMARY KEY, name text NOT NULL, v double "
            f"precision{extra}); INSERT INTO t{i:04d} SELECT g, 't{i}-' || g, g * 0.5{fill} "
            f"FROM generate_series(1, {rows}) g"
        )
    with psycopg.connect(url, autocommit=True) as conn:
        for start in range(0, len(statements), 200):
            conn.execute("; ".join(statements[start : start + 200]))


class _Ctx:
    name = "pg"
    logger = logging.getLogger("syncline.test")


class _NoState:
    def get(self, key: str) -> str | None:
        return None


def _source(url: str, concurrency: int = 4) -> PostgreSQLSource:
    spec = PostgreSQLSourceSpec(connection_string=url, concurrency=concurrency)
    return PostgreSQLSource(spec, _Ctx())  # type: ignore[arg-type]


def _discover(url: str, counted: dict[str, list[Any]]) -> tuple[int, int, int]:
    counted["statements"].clear()
    counted["connections"].clear()
    source = _source(url)
    try:
        tables = source.tables()
    finally:
        source.close()
    return len(tables), len(counted["statements"]), len(counted["connections"])


def test_discovery_takes_the_same_few_statements_for_10_and_300_tables(pg_server, counted):
    small = pg_server.create_database("discover_small")
    large = pg_server.create_database("discover_large")
    _create_tables(small, 10, rows=3, arrays=True)
    _create_tables(large, 300, rows=3, arrays=True)

    assert _discover(small, counted) == (10, 2, 1)  # columns and keys; nested-array flags
    assert _discover(large, counted) == (300, 3, 1)  # the flags of 200 tables per statement

    source = _source(large)
    try:
        grid = next(t for t in source.tables() if t.name == "t0007").column("grid")
    finally:
        source.close()
    assert grid is not None and str(grid.type) == "list<item: int32>"


def test_a_sync_of_200_tables_opens_at_most_one_connection_per_reader(pg_server, counted):
    url = pg_server.create_database("reuse_connections")
    _create_tables(url, 200, rows=5)
    source = _source(url, concurrency=3)
    options = SyncOptions(tables=["*"], skip_tables=[], skip_dependent_tables=True)
    rows: dict[str, int] = {}
    migrated, done = 0, 0
    order: list[tuple[str, str]] = []
    try:
        for msg in source.sync(options, _NoState()):
            if isinstance(msg, Insert):
                rows[msg.table_name] = rows.get(msg.table_name, 0) + msg.record.num_rows
                order.append(("rows", msg.table_name))
            migrated += isinstance(msg, MigrateTable)
            if isinstance(msg, TableDone):
                done += msg.ok
                order.append(("done", msg.table_name))
    finally:
        source.close()
    assert (migrated, done) == (200, 200)
    # each table is done after its rows, as soon as it is read: not all at the end
    for table in ("t0000", "t0123"):
        assert order.index(("rows", table)) < order.index(("done", table))
    assert order.index(("done", "t0000")) < order.index(("rows", "t0199"))
    assert rows == {f"t{i:04d}": 5 for i in range(200)}
    # discovery, then the three readers: 201 statements on at most 4 connections
    assert len(counted["statements"]) == 201
    assert 1 <= len(counted["connections"]) <= 4


@pytest.mark.slow
def test_1000_small_tables_into_sqlite_with_delete_stale(pg_server, write, run_cli, workdir):
    url = pg_server.create_database("thousand_tables")
    _create_tables(url, 1000, rows=20)
    source_doc = f"""\
kind: source
spec:
  name: pg
  path: cloudquery/postgresql
  tables: ["*"]
  destinations: [sqlite]
  spec:
    connection_string: "{url}"
    concurrency: 4
"""
    write("many.yml", config(source_doc, sqlite_doc()))
    first = run_cli("sync", "many.yml")
    assert first.code == 0, first.err
    assert "Resources: 20000," in first.out
    db = workdir / "db.sqlite"
    sample = range(0, 1000, 111)
    counts = {
        f"t{i:04d}": query(db, f"select count(*), sum(id), min(name), max(v) from t{i:04d}")[0]
        for i in sample
    }
    assert counts == {f"t{i:04d}": (20, 210, f"t{i}-1", 10.0) for i in sample}
    tables = query(db, "select count(*) from sqlite_master where type = 'table' and name like 't%'")
    assert tables == [(1000,)]

    # rows gone from the source are deleted as stale from every table they left
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM t0000 WHERE id > 5; DELETE FROM t0999 WHERE id <= 15")
        conn.execute("DELETE FROM t0500")
    second = run_cli("sync", "many.yml")
    assert second.code == 0, second.err
    assert "Resources: 19950," in second.out
    assert query(db, "select count(*), max(id) from t0000") == [(5, 5)]
    assert query(db, "select count(*), min(id) from t0999") == [(5, 16)]
    assert query(db, "select count(*) from t0500") == [(0,)]
    assert query(db, "select count(*) from t0777") == [(20,)]
    # without a terminal: progress lines, the last one with the totals
    lines = [line for line in second.err.splitlines() if line.startswith("progress ")]
    assert lines[-1].startswith(
        "progress source=pg phase=done tables=1000/1000 rows=19950 rows_written=19950 "
    )
