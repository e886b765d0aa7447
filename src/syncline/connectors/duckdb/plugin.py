"""The DuckDB destination: Arrow batches scanned by DuckDB directly, no row-by-row Python."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import Field

from syncline.connectors.duckdb.types import duckdb_type, from_duckdb, to_duckdb
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.plugin.errors import WriteError
from syncline.plugin.specs import BatchSpec
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.diff import ColumnShape
from syncline.schema.internal import CQ_SOURCE_NAME, CQ_SYNC_TIME
from syncline.schema.table import Table
from syncline.writers.migrate import (
    Action,
    check_case_collisions,
    plan_migrations,
    plan_statements,
    shapes,
)
from syncline.writers.sql import column_list, latest_rows_sql, quote_ident
from syncline.writers.values import has_duplicate_keys, map_columns

_ROW = "__syncline_row"
_STAGING = "syncline_staging"


class DuckDBSpec(BatchSpec):
    connection_string: str = Field(description="Path of the DuckDB database file.")
    batch_size: int = Field(100_000, ge=1, description="Rows per write transaction.")
    batch_size_bytes: int = Field(
        100 * 1024 * 1024, ge=1, description="Arrow bytes per write transaction."
    )


class DuckDBDestination:
    # DuckDB keeps each table's uncommitted rows and key index in memory until the commit.
    tables_per_transaction = 20

    def __init__(self, spec: DuckDBSpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.limits: BatchLimits = spec.limits()
        self._conn: Any = None
        self._lock = threading.Lock()
        # Tables this instance created, empty until their first write.
        self._fresh: set[str] = set()
        if not ctx.no_connection:
            self._connect()

    def _connect(self) -> None:
        path = Path(self.spec.connection_string)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(str(path))
        except Exception as e:
            raise WriteError(f"destination {self.ctx.name}: cannot open {path}: {e}") from e

    def _db(self) -> Any:
        if self._conn is None:
            self._connect()
        return self._conn

    def test_connection(self) -> None:
        self._db().execute("SELECT 1").fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- schema ----------------------------------------------------------------------------

    def _exists(self, name: str) -> bool:
        found = (
            self._db()
            .execute(
                "SELECT 1 FROM duckdb_tables() WHERE schema_name = current_schema() "
                "AND database_name = current_database() AND table_name = ?",
                [name],
            )
            .fetchall()
        )
        return bool(found)

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        with self._lock:
            catalog = _catalog(self._db())
            check_case_collisions(self.ctx.name, "DuckDB", tables, catalog)
            plans = plan_migrations(
                self.ctx.name,
                tables,
                lambda t: shapes(t, duckdb_type),
                lambda t: catalog.get(t.name, []),
                force,
            )
            statements = [
                sql
                for plan in plans
                for sql in plan_statements(plan, quote_ident(plan.table.name), duckdb_type)
            ]

            def run(db: Any) -> None:
                for sql in statements:
                    db.execute(sql)

            if statements:
                self._in_transaction(run)
            created = (Action.CREATE, Action.RECREATE)
            self._fresh.update(p.table.name for p in plans if p.action in created)

    def _in_transaction(self, work: Callable[[Any], None]) -> None:
        db = self._db()
        db.execute("BEGIN TRANSACTION")
        try:
            work(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- data ------------------------------------------------------------------------------

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        return map_columns(record, to_duckdb)

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        self.write_tables([(table, records)])

    def write_tables(self, batches: Sequence[tuple[Table, Sequence[pa.RecordBatch]]]) -> None:
        """Several tables' batches in one transaction (small tables share the commit)."""
        batches = [(t, r) for t, r in batches if r]
        if not batches:
            return

        def write(db: Any) -> None:
            for table, records in batches:
                self._stage_and_write(db, table, records)

        with self._lock:
            self._in_transaction(write)

    def _stage_and_write(self, db: Any, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        data = pa.Table.from_batches(records)
        keys = table.primary_keys
        last_wins = bool(keys) and has_duplicate_keys(data, keys)
        fresh = table.name in self._fresh
        self._fresh.discard(table.name)
        statements = _write_statements(table.name, data.column_names, keys, last_wins)
        if fresh:
            statements = statements[-1:]  # a table created empty: nothing to replace
        if last_wins:
            data = data.append_column(_ROW, pa.array(range(data.num_rows), pa.int64()))
        db.register(_STAGING, data)
        try:
            for sql in statements:
                db.execute(sql)
        finally:
            db.unregister(_STAGING)

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int:
        return self.delete_stale_tables([table], source_name, sync_time)[0]

    def delete_stale_tables(
        self, tables: Sequence[Table], source_name: str, sync_time: datetime
    ) -> list[int]:
        """Stale rows of several tables deleted in one transaction; how many per table."""
        when = to_duckdb(pa.array([sync_time], pa.timestamp("us", tz="UTC")))[0].as_py()
        counts: list[int] = []

        def delete(db: Any) -> None:
            for table in tables:
                deleted = db.execute(
                    f"DELETE FROM {quote_ident(table.name)} "
                    f"WHERE {quote_ident(CQ_SOURCE_NAME)} = ? AND {quote_ident(CQ_SYNC_TIME)} < ?",
                    [source_name, when],
                ).fetchone()
                counts.append(int(deleted[0]) if deleted else 0)

        with self._lock:
            self._in_transaction(delete)
        return counts

    def delete_record(self, table: Table, where: Mapping[str, Any]) -> None:
        if not where:
            raise WriteError(f"destination {self.ctx.name}: delete record without a condition")
        missing = [k for k in where if table.column(k) is None]
        if missing:
            raise WriteError(f"table {table.name} has no column {missing[0]}")
        cond = " AND ".join(f"{quote_ident(k)} = ?" for k in where)
        with self._lock:
            self._db().execute(
                f"DELETE FROM {quote_ident(table.name)} WHERE {cond}", list(where.values())
            )

    def has_rows(self, table: Table) -> bool:
        """Whether the table exists and holds a row (checked before trusting a cursor)."""
        if not self._exists(table.name):
            return False
        with self._lock:
            found = self._db().execute(f"SELECT 1 FROM {quote_ident(table.name)} LIMIT 1")
            return found.fetchone() is not None

    def read(self, table: Table) -> Iterator[pa.RecordBatch]:
        cols = column_list(table.column_names)
        return self._read(table, f"SELECT {cols} FROM {quote_ident(table.name)}")

    def read_latest(
        self, table: Table, key_columns: Sequence[str], version_column: str
    ) -> Iterator[pa.RecordBatch]:
        sql = latest_rows_sql(
            quote_ident(table.name), table.column_names, key_columns, version_column, "rowid"
        )
        return self._read(table, sql)

    def _read(self, table: Table, sql: str) -> Iterator[pa.RecordBatch]:
        if not self._exists(table.name):
            return
        with self._lock:
            data = self._db().sql(sql).to_arrow_table()
        if data.num_rows == 0:
            return
        schema = to_arrow_schema(table)
        arrays = [from_duckdb(data.column(i), f.type) for i, f in enumerate(schema)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _write_statements(name: str, columns: list[str], keys: list[str], last_wins: bool) -> list[str]:
    """SQL that writes the staged batch; with keys, an upsert where the last row wins.

    The upsert deletes the batch's keys and inserts the batch: DuckDB's ``ON CONFLICT DO
    UPDATE`` probes the primary-key index row by row and is many times slower once the keys
    exist, while a hash join on the keys deletes them in bulk.
    """
    cols = column_list(columns)
    target = quote_ident(name)
    if not keys:
        return [f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {_STAGING}"]
    match = " AND ".join(f"{target}.{quote_ident(k)} = {_STAGING}.{quote_ident(k)}" for k in keys)
    rows = f"SELECT {cols} FROM {_STAGING}"
    if last_wins:
        # Several rows of one key in the batch (numbered by _ROW): keep the last.
        rows += (
            f" QUALIFY row_number() OVER (PARTITION BY {column_list(keys)} "
            f"ORDER BY {quote_ident(_ROW)} DESC) = 1"
        )
    return [
        f"DELETE FROM {target} USING {_STAGING} WHERE {match}",
        f"INSERT INTO {target} ({cols}) {rows}",
    ]


def _catalog(db: Any) -> dict[str, list[ColumnShape]]:
    """Every table of the schema with its columns, in two catalog queries.

    One read for all tables: a query per table scans the whole catalog each time.
    """
    columns = db.execute(
        "SELECT table_name, column_name, data_type, is_nullable "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
    keys = db.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE schema_name = current_schema() AND constraint_type = 'PRIMARY KEY'"
    ).fetchall()
    primary = {(t, c) for t, names in keys for c in names}
    out: dict[str, list[ColumnShape]] = {}
    for table, column, kind, nullable in columns:
        out.setdefault(table, []).append(
            ColumnShape(
                column,
                kind.upper(),
                not_null=nullable == "NO",
                primary_key=(table, column) in primary,
            )
        )
    return out
