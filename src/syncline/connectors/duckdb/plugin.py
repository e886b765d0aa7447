"""The DuckDB destination: Arrow batches scanned by DuckDB directly, no row-by-row Python."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from pydantic import Field

from syncline.connectors.duckdb.memory import DEFAULT_BUDGET, SIZE_PATTERN, MemoryLimit
from syncline.connectors.duckdb.types import duckdb_type, from_duckdb, to_duckdb
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.plugin.errors import WriteError
from syncline.plugin.specs import BatchSpec
from syncline.schema.arrays import from_numpy, timestamp_scalar
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.diff import ColumnShape
from syncline.schema.internal import CQ_SOURCE_NAME, CQ_SYNC_TIME, SYNC_TIME_TYPE
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
    # DuckDB writes a transaction's full row groups (122,880 rows each) straight to the file,
    # compressed, one row group per thread; smaller inserts go through the write-ahead log and
    # a checkpoint. Two row groups per insert keep two threads busy and halve the inserts:
    # 1M rows went in 1.9-2.0 s against 2.4-3.0 s one row group at a time (and a batch's
    # keys are deleted with one scan of the table per insert on later runs).
    batch_size: int = Field(2 * 122_880, ge=1, description="Rows per write transaction.")
    batch_size_bytes: int = Field(
        100 * 1024 * 1024, ge=1, description="Arrow bytes per write transaction."
    )
    # Without a limit DuckDB keeps every block it wrote, 512 KiB per table written even for
    # a few rows: over 500 MB at 1,000 small tables (a sync of them peaked over 800 MB, with
    # the default near 730 MB). Blocks past it are on disk already and are simply dropped.
    memory_limit: str | None = Field(
        DEFAULT_BUDGET,
        pattern=SIZE_PATTERN,
        description="Memory DuckDB may keep for cached table blocks and queries on top of "
        "its key indexes (e.g. 256MB, 2GiB); null: DuckDB's own limit (80% of RAM).",
    )


class DuckDBDestination:
    # DuckDB keeps each table's uncommitted rows and key index in memory until the commit
    # (about 1 MiB per small table), and a commit of ten or twenty small tables checkpoints
    # (work that grows with every table of the file): 40 halves the checkpoints of 20.
    tables_per_transaction = 40

    def __init__(self, spec: DuckDBSpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.limits: BatchLimits = spec.limits()
        self._conn: Any = None
        self._memory = MemoryLimit(None)
        self._lock = threading.Lock()
        # Tables this instance created: they hold only rows this instance wrote, so a batch
        # is inserted without deleting its keys first (the key index catches a repeat).
        self._fresh: set[str] = set()
        if not ctx.no_connection:
            self._connect()

    def _connect(self) -> None:
        path = Path(self.spec.connection_string)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(str(path))
            self._memory = MemoryLimit(self.spec.memory_limit)
            self._memory.apply(self._conn)
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
                self._memory.apply(self._db(), len(plans))
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
        """Several tables' batches in one transaction (small tables share the commit).

        The first attempt trusts the primary-key index to find repeated keys: a table this
        instance created gets a plain insert, others have the batch's keys deleted first, and
        nothing is deduplicated. A key the batch repeats, or one an earlier batch wrote to a
        new table, fails the insert; the transaction is then rolled back and written again
        with every table's keys deleted and the last row of each key kept. Most batches
        repeat no key and skip both the search for duplicates and the delete.
        """
        batches = [(t, r) for t, r in batches if r]
        if not batches:
            return
        staged = [(t, _combined(r)) for t, r in batches]
        with self._lock:
            size = sum(data.nbytes for _, data in staged)
            keyed = sum(data.num_rows for t, data in staged if t.primary_keys)
            self._memory.apply(self._db(), len(staged), size, keyed)
            try:
                self._in_transaction(lambda db: self._write_all(db, staged, careful=False))
            except duckdb.ConstraintException:
                self._in_transaction(lambda db: self._write_all(db, staged, careful=True))
            finally:
                self._db().unregister(_STAGING)  # the rows, once a failure left them registered

    def _write_all(self, db: Any, staged: Sequence[tuple[Table, pa.Table]], careful: bool) -> None:
        for table, data in staged:
            keys = table.primary_keys
            if not keys:
                _run_staged(db, data, [_insert_sql(table.name, data.column_names, "")])
                continue
            if careful and has_duplicate_keys(data, keys):
                numbered = data.append_column(_ROW, from_numpy(np.arange(data.num_rows)))
                rows = _last_rows(keys)
            else:
                numbered, rows = data, ""
            statements = [_insert_sql(table.name, data.column_names, rows)]
            if careful or table.name not in self._fresh:
                statements.insert(0, _delete_sql(table.name, keys))
            _run_staged(db, numbered, statements)

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int:
        return self.delete_stale_tables([table], source_name, sync_time)[0]

    def delete_stale_tables(
        self, tables: Sequence[Table], source_name: str, sync_time: datetime
    ) -> list[int]:
        """Stale rows of several tables deleted in one transaction; how many per table."""
        when = to_duckdb(pa.repeat(timestamp_scalar(sync_time, SYNC_TIME_TYPE), 1))[0].as_py()
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
            self._memory.apply(self._db(), len(tables))
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


def _combined(records: Sequence[pa.RecordBatch]) -> pa.Table:
    """The records as one chunk per column: DuckDB writes a table of many chunks as many
    small row groups and compacts them again at the checkpoint (twice the work, a file
    twice the size)."""
    return pa.Table.from_batches(records).combine_chunks()


def _run_staged(db: Any, data: pa.Table, statements: Sequence[str]) -> None:
    # A failed statement aborts the transaction, and its rollback drops the registration.
    db.register(_STAGING, data)
    for sql in statements:
        db.execute(sql)
    db.unregister(_STAGING)


def _delete_sql(name: str, keys: list[str]) -> str:
    """Delete the staged rows' keys: a hash join on the keys deletes them in bulk, where
    DuckDB's ``ON CONFLICT DO UPDATE`` probes the key index row by row and is many times
    slower once the keys exist."""
    target = quote_ident(name)
    match = " AND ".join(f"{target}.{quote_ident(k)} = {_STAGING}.{quote_ident(k)}" for k in keys)
    return f"DELETE FROM {target} USING {_STAGING} WHERE {match}"


def _last_rows(keys: list[str]) -> str:
    """Of several staged rows of one key (numbered by _ROW), the last."""
    return (
        f" QUALIFY row_number() OVER (PARTITION BY {column_list(keys)} "
        f"ORDER BY {quote_ident(_ROW)} DESC) = 1"
    )


def _insert_sql(name: str, columns: list[str], rows: str) -> str:
    cols = column_list(columns)
    return f"INSERT INTO {quote_ident(name)} ({cols}) SELECT {cols} FROM {_STAGING}{rows}"


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
