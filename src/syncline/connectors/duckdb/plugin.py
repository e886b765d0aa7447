"""The DuckDB destination: Arrow batches scanned by DuckDB directly, no row-by-row Python."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import Field

from syncline.connectors.duckdb.types import duckdb_type, from_duckdb, to_duckdb
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.plugin.errors import MigrationError, WriteError
from syncline.plugin.specs import BatchSpec
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.diff import ColumnShape
from syncline.schema.internal import CQ_SOURCE_NAME, CQ_SYNC_TIME
from syncline.schema.table import Table
from syncline.writers.migrate import plan_migrations, plan_statements, shapes
from syncline.writers.sql import column_list, quote_ident
from syncline.writers.values import map_columns

_ROW = "__syncline_row"
_STAGING = "syncline_staging"


class DuckDBSpec(BatchSpec):
    connection_string: str = Field(description="Path of the DuckDB database file.")
    batch_size: int = Field(100_000, ge=1, description="Rows per write transaction.")
    batch_size_bytes: int = Field(
        100 * 1024 * 1024, ge=1, description="Arrow bytes per write transaction."
    )


class DuckDBDestination:
    def __init__(self, spec: DuckDBSpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.limits: BatchLimits = spec.limits()
        self._conn: Any = None
        self._lock = threading.Lock()
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

    def _existing(self, name: str) -> list[ColumnShape]:
        rows = (
            self._db()
            .execute(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ? "
                "ORDER BY ordinal_position",
                [name],
            )
            .fetchall()
        )
        if not rows:
            return []
        keys = self._primary_keys(name)
        return [
            ColumnShape(r[0], r[1].upper(), not_null=r[2] == "NO", primary_key=r[0] in keys)
            for r in rows
        ]

    def _primary_keys(self, name: str) -> set[str]:
        rows = (
            self._db()
            .execute(
                "SELECT constraint_column_names FROM duckdb_constraints() "
                "WHERE schema_name = current_schema() AND table_name = ? "
                "AND constraint_type = 'PRIMARY KEY'",
                [name],
            )
            .fetchall()
        )
        return {c for r in rows for c in r[0]}

    def _check_case_collisions(self, tables: Sequence[Table]) -> None:
        """DuckDB table names ignore case: CaseT and caset would be one table."""
        seen: dict[str, str] = {}
        for t in tables:
            rows = (
                self._db()
                .execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema() AND lower(table_name) = lower(?) "
                    "AND table_name <> ?",
                    [t.name, t.name],
                )
                .fetchall()
            )
            other = rows[0][0] if rows else seen.get(t.name.lower())
            if other is not None and other != t.name:
                raise MigrationError(
                    f"destination {self.ctx.name}: tables {other} and {t.name} differ only in "
                    "case, and DuckDB table names ignore case: they would overwrite each "
                    "other's rows (skip or rename one)"
                )
            seen[t.name.lower()] = t.name

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        self._check_case_collisions(tables)
        plans = plan_migrations(
            self.ctx.name,
            tables,
            lambda t: shapes(t, duckdb_type),
            lambda t: self._existing(t.name),
            force,
        )
        for plan in plans:
            for sql in plan_statements(plan, quote_ident(plan.table.name), duckdb_type):
                self._db().execute(sql)

    # -- data ------------------------------------------------------------------------------

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        return map_columns(record, to_duckdb)

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        if not records:
            return
        data = pa.Table.from_batches(records)
        keys = table.primary_keys
        last_wins = bool(keys) and _has_duplicate_keys(data, keys)
        statements = _write_statements(table.name, data.column_names, keys, last_wins)
        if last_wins:
            data = data.append_column(_ROW, pa.array(range(data.num_rows), pa.int64()))
        db = self._db()
        with self._lock:
            db.register(_STAGING, data)
            db.execute("BEGIN TRANSACTION")
            try:
                for sql in statements:
                    db.execute(sql)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            finally:
                db.unregister(_STAGING)

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int:
        when = to_duckdb(pa.array([sync_time], pa.timestamp("us", tz="UTC")))[0].as_py()
        sql = (
            f"DELETE FROM {quote_ident(table.name)} WHERE {quote_ident(CQ_SOURCE_NAME)} = ? "
            f"AND {quote_ident(CQ_SYNC_TIME)} < ?"
        )
        with self._lock:
            deleted = self._db().execute(sql, [source_name, when]).fetchone()
        return int(deleted[0]) if deleted else 0

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
        if not self._existing(table.name):
            return False
        with self._lock:
            found = self._db().execute(f"SELECT 1 FROM {quote_ident(table.name)} LIMIT 1")
            return found.fetchone() is not None

    def read(self, table: Table) -> Iterator[pa.RecordBatch]:
        if not self._existing(table.name):
            return
        with self._lock:
            data = (
                self._db()
                .sql(f"SELECT {column_list(table.column_names)} FROM {quote_ident(table.name)}")
                .to_arrow_table()
            )
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


def _has_duplicate_keys(data: pa.Table, keys: list[str]) -> bool:
    """Whether two rows share a primary key (checked in Arrow, without a round trip)."""
    columns = [data.column(k) for k in keys]
    plain = pa.table(  # group_by does not take extension types; their storage groups the same
        [
            c.cast(c.type.storage_type) if isinstance(c.type, pa.BaseExtensionType) else c
            for c in columns
        ],
        names=keys,
    )
    return bool(plain.group_by(keys).aggregate([]).num_rows < data.num_rows)
