"""The SQLite destination: Arrow-bound bulk statements through ADBC, one transaction per batch.

Statements go through ADBC's low-level API (``writers.adbc_session`` says why)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import adbc_driver_sqlite
import pyarrow as pa
from pydantic import Field

from syncline.connectors.sqlite.types import (
    from_storage,
    record_to_storage,
    sqlite_type,
    to_storage,
)
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.plugin.errors import WriteError
from syncline.plugin.specs import BatchSpec
from syncline.schema.arrays import timestamp_scalar
from syncline.schema.arrow import rows_to_record, to_arrow_schema
from syncline.schema.diff import ColumnShape
from syncline.schema.internal import CQ_SOURCE_NAME, CQ_SYNC_TIME, SYNC_TIME_TYPE
from syncline.schema.table import Table
from syncline.writers.adbc_session import Connection
from syncline.writers.migrate import check_case_collisions, plan_migrations, plan_statements, shapes
from syncline.writers.sql import column_list, latest_rows_sql, quote_ident, upsert_sql
from syncline.writers.values import warn_far_times

BUSY_TIMEOUT_MS = 60_000


class SQLiteSpec(BatchSpec):
    connection_string: str = Field(description="Path of the SQLite database file.")


def _open_failure(path: Path, error: Exception) -> str:
    """Why a database file cannot be opened, in the operating system's words.

    SQLite reports a file it may not create as "failed to allocate memory" through ADBC, so
    ask the file system directly.
    """
    if isinstance(error, OSError) and error.strerror:
        return error.strerror[0].lower() + error.strerror[1:]
    try:
        with path.open("ab"):
            pass
    except OSError as e:
        if e.strerror:
            return e.strerror[0].lower() + e.strerror[1:]
    return str(error)


class SQLiteDestination:
    def __init__(self, spec: SQLiteSpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.limits: BatchLimits = spec.limits()
        self._conn: Any = None
        if not ctx.no_connection:
            self._connect()

    # -- connection ----------------------------------------------------------------------

    def _connect(self) -> None:
        path = Path(self.spec.connection_string)
        try:
            if path.parent and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = Connection(adbc_driver_sqlite.connect(str(path)), autocommit=False)
            cur = self._conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.close()
            self._conn.commit()
        except Exception as e:
            raise WriteError(
                f"destination {self.ctx.name}: cannot open {path}: {_open_failure(path, e)}"
            ) from e

    def _cursor(self) -> Any:
        if self._conn is None:
            self._connect()
        return self._conn.cursor()

    def test_connection(self) -> None:
        cur = self._cursor()
        cur.execute("SELECT 1")
        cur.fetchall()
        cur.close()
        self._conn.commit()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- schema ----------------------------------------------------------------------------

    def _existing(self, cur: Any, name: str) -> list[ColumnShape]:
        cur.execute(f"PRAGMA table_info({quote_ident(name)})")
        return [
            ColumnShape(
                name=r[1], type=(r[2] or "").lower(), not_null=bool(r[3]), primary_key=r[5] > 0
            )
            for r in cur.fetchall()
        ]

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        with self._transaction() as cur:
            catalog = _catalog(cur)
            check_case_collisions(self.ctx.name, "SQLite", tables, catalog)
            plans = plan_migrations(
                self.ctx.name,
                tables,
                lambda t: shapes(t, sqlite_type),
                lambda t: catalog.get(t.name, []),
                force,
            )
            for plan in plans:
                name = plan.table.name
                for sql in plan_statements(
                    plan, quote_ident(name), sqlite_type, pk_constraint=f"{name}_cqpk"
                ):
                    cur.execute(sql)

    # -- data ------------------------------------------------------------------------------

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        warn_far_times(
            record,
            self.ctx.logger,
            f"destination {self.ctx.name}: table {table.name}",
            "stored as text ('infinity', '-infinity' or the extended year; such text does not "
            "sort in time order)",
        )
        return record_to_storage(record)

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        self.write_tables([(table, records)])

    def write_tables(self, batches: Sequence[tuple[Table, Sequence[pa.RecordBatch]]]) -> None:
        """Several tables' batches in one transaction (small tables share the commit)."""
        batches = [(t, r) for t, r in batches if r]
        if not batches:
            return
        with self._transaction() as cur:
            for table, records in batches:
                data = pa.Table.from_batches(records)
                cur.executemany(
                    upsert_sql(table.name, data.column_names, table.primary_keys, "?"), data
                )

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int:
        return self.delete_stale_tables([table], source_name, sync_time)[0]

    def delete_stale_tables(
        self, tables: Sequence[Table], source_name: str, sync_time: datetime
    ) -> list[int]:
        """Stale rows of several tables deleted in one transaction; how many per table."""
        # Same conversion as the stored values, so the text comparison is exact.
        when = to_storage(pa.repeat(timestamp_scalar(sync_time, SYNC_TIME_TYPE), 1))[0].as_py()
        counts: list[int] = []
        with self._transaction() as cur:
            for table in tables:
                cur.execute(
                    f"DELETE FROM {quote_ident(table.name)} "
                    f"WHERE {quote_ident(CQ_SOURCE_NAME)} = ? AND {quote_ident(CQ_SYNC_TIME)} < ?",
                    (source_name, when),
                )
                cur.execute("SELECT changes()")
                counts.append(int(cur.fetchone()[0]))
        return counts

    def delete_record(self, table: Table, where: Mapping[str, Any]) -> None:
        if not where:
            raise WriteError(f"destination {self.ctx.name}: delete record without a condition")
        fields = [table.column(k) for k in where]
        schema = pa.schema([pa.field(f.name, f.type) for f in fields if f is not None])
        if len(schema) != len(where):
            missing = [k for k in where if table.column(k) is None]
            raise WriteError(f"table {table.name} has no column {missing[0]}")
        params = record_to_storage(rows_to_record(schema, [where])).to_pylist()[0]
        cond = " AND ".join(f"{quote_ident(k)} = ?" for k in where)
        self._execute(f"DELETE FROM {quote_ident(table.name)} WHERE {cond}", tuple(params.values()))

    def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._transaction() as cur:
            cur.execute(sql, params)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A cursor whose work commits on success and rolls back on any failure."""
        cur = self._cursor()
        try:
            yield cur
            self._conn.commit()
        except BaseException:
            # SQLite ends the transaction itself on some errors (disk full, I/O): a failing
            # rollback must not replace the error that says why.
            with suppress(Exception):
                self._conn.rollback()
            raise
        finally:
            cur.close()

    def has_rows(self, table: Table) -> bool:
        """Whether the table exists and holds a row (checked before trusting a cursor)."""
        cur = self._cursor()
        try:
            if not self._existing(cur, table.name):
                return False
            cur.execute(f"SELECT 1 FROM {quote_ident(table.name)} LIMIT 1")
            return bool(cur.fetchall())
        finally:
            cur.close()
            self._conn.commit()

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
        cur = self._cursor()
        try:
            if not self._existing(cur, table.name):
                return
            cur.execute(sql)
            data = cur.fetch_arrow_table()
        finally:
            cur.close()
            # End the read transaction: an open one would block writers on other connections.
            self._conn.commit()
        if data.num_rows == 0:
            return
        schema = to_arrow_schema(table)
        arrays = [from_storage(data.column(i), f.type) for i, f in enumerate(schema)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _catalog(cur: Any) -> dict[str, list[ColumnShape]]:
    """Every table with its columns, in one query (not a catalog scan per table)."""
    cur.execute(
        'SELECT m.name, p.name, p.type, p."notnull", p.pk FROM sqlite_master m '
        "JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid"
    )
    out: dict[str, list[ColumnShape]] = {}
    for table, column, kind, not_null, pk in cur.fetchall():
        out.setdefault(table, []).append(
            ColumnShape(column, (kind or "").lower(), bool(not_null), pk > 0)
        )
    return out
