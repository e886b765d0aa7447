"""The PostgreSQL destination: binary COPY from Arrow (ADBC), upserts through a staging table."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
from pydantic import Field

from syncline.connectors.postgresql.types import from_pg, pg_type, select_expr, to_copy
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.plugin.errors import MigrationError, WriteError
from syncline.plugin.specs import BatchSpec, Duration
from syncline.schema import temporal
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.diff import ColumnShape
from syncline.schema.internal import CQ_SOURCE_NAME, CQ_SYNC_TIME, free_name
from syncline.schema.table import Table
from syncline.writers.migrate import plan_migrations, plan_statements, shapes
from syncline.writers.retry import with_retries
from syncline.writers.sql import column_list, on_conflict_update, quote_ident
from syncline.writers.values import map_columns

T = TypeVar("T")
# Connection failures, admin shutdowns, deadlocks and serialization failures pass with time.
_TRANSIENT_STATES = ("08", "40001", "40P01", "57P01", "57P02", "57P03", "53300")


class PostgreSQLSpec(BatchSpec):
    connection_string: str = Field(
        description="libpq URL (postgresql://user@host:port/db) or key/value string."
    )
    schema_name: str = Field("public", alias="schema", description="Schema of the tables.")
    # Larger than CloudQuery's 10000: each COPY and commit has a fixed cost (measured in
    # benchmarks/bench_postgresql.py).
    batch_size: int = Field(100_000, ge=1, description="Rows per write transaction.")
    batch_size_bytes: int = Field(100_000_000, ge=1, description="Arrow bytes per transaction.")
    batch_timeout: Duration = Field(60.0, gt=0, description="Flush buffered rows after this long.")
    max_retries: int = Field(5, ge=1, description="Attempts for a transient failure.")
    retry_delay: Duration = Field(0.5, gt=0, description="First backoff delay, doubled each time.")


def is_transient(e: BaseException, connection_works: Callable[[], bool] = lambda: False) -> bool:
    """Only a transient SQLSTATE, or a failure without one on a connection that is gone.

    The driver reports some client-side failures (a value binary COPY cannot encode) without
    a SQLSTATE, like a broken connection: a connection that still answers tells them apart.
    """
    state = getattr(e, "sqlstate", None) or ""
    if state:
        return any(state.startswith(s) for s in _TRANSIENT_STATES)
    if not isinstance(e, adbc.OperationalError | ConnectionError | OSError):
        return False
    return not connection_works()


def _describe(e: BaseException) -> str:
    text = str(e).strip().rstrip(":").strip()
    state = getattr(e, "sqlstate", None)
    if state and state not in text:
        text += f" (SQLSTATE {state})"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class PostgreSQLDestination:
    def __init__(self, spec: PostgreSQLSpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.limits: BatchLimits = spec.limits()
        self.schema = spec.schema_name
        self._conn: Any = None
        self._lock = threading.Lock()
        if not ctx.no_connection:
            self._run(
                lambda cur: cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
            )

    # -- connection and transactions -------------------------------------------------------

    def _connect(self) -> Any:
        if self._conn is None:
            self._conn = adbc.connect(self.spec.connection_string)
        return self._conn

    def _drop_connection(self, _: BaseException) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                conn.close()

    def _run(self, work: Callable[[Any], T], what: str = "") -> T:
        """Run ``work(cursor)`` in one transaction, retrying transient failures."""

        def attempt() -> T:
            conn = self._connect()
            cur = conn.cursor()
            try:
                result = work(cur)
                conn.commit()
                return result
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.rollback()
                raise
            finally:
                with contextlib.suppress(Exception):
                    cur.close()

        with self._lock:
            try:
                return with_retries(
                    attempt,
                    is_transient=lambda e: is_transient(e, self._connection_works),
                    attempts=self.spec.max_retries,
                    base_delay_s=self.spec.retry_delay,
                    on_retry=self._drop_connection,
                    logger=self.ctx.logger,
                )
            except (MigrationError, WriteError):
                raise
            except Exception as e:
                where = f" table {what}:" if what else ""
                raise WriteError(f"destination {self.ctx.name}:{where} {_describe(e)}") from e

    def _connection_works(self) -> bool:
        if self._conn is None:
            return False
        try:
            cur = self._conn.cursor()
            try:
                cur.execute("SELECT 1")
                cur.fetchall()
            finally:
                cur.close()
            self._conn.rollback()
            return True
        except Exception:
            return False

    def _qualified(self, name: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(name)}"

    def test_connection(self) -> None:
        self._run(lambda cur: (cur.execute("SELECT 1"), cur.fetchall()))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._drop_connection(RuntimeError("close"))

    # -- schema ----------------------------------------------------------------------------

    def _existing(self, cur: Any, name: str) -> list[ColumnShape]:
        cur.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "coalesce(a.attnum = any(i.indkey), false) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
            "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (self.schema, name),
        )
        return [ColumnShape(r[0], r[1], bool(r[2]), bool(r[3])) for r in cur.fetchall()]

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        self._run(lambda cur: self._migrate(cur, tables, force))

    def _migrate(self, cur: Any, tables: Sequence[Table], force: bool) -> None:
        plans = plan_migrations(
            self.ctx.name,
            tables,
            lambda t: shapes(t, pg_type),
            lambda t: self._existing(cur, t.name),
            force,
        )
        for plan in plans:
            qualified = self._qualified(plan.table.name)
            for sql in plan_statements(plan, qualified, pg_type, add_if_not_exists=True):
                cur.execute(sql)

    # -- data ------------------------------------------------------------------------------

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        return map_columns(record, to_copy)

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        if not records:
            return
        data = pa.Table.from_batches(records)
        self._run(lambda cur: self._write(cur, table, data), table.name)

    def _write(self, cur: Any, table: Table, data: pa.Table) -> None:
        keys = table.primary_keys
        # Binary COPY cannot carry PostgreSQL's infinities: such columns are staged as text.
        infinite = [
            f.name
            for f, col in zip(data.schema, data.columns, strict=True)
            if temporal.is_temporal(f.type) and temporal.infinite_mask(col.combine_chunks()).any()
        ]
        if not keys and not infinite:
            cur.adbc_ingest(table.name, data, mode="append", db_schema_name=self.schema)
            return
        # Bulk-load into a staging table of the same column types, then one insert; an upsert
        # keeps the last row among duplicate keys (ON CONFLICT may touch a row only once).
        staging = quote_ident("syncline_staging")
        cur.execute(
            f"CREATE TEMP TABLE {staging} "
            f"(LIKE {self._qualified(table.name)} EXCLUDING ALL) ON COMMIT DROP"
        )
        row = free_name("__syncline_row", data.column_names)
        cur.execute(f"ALTER TABLE {staging} ADD COLUMN {quote_ident(row)} bigint")
        casts = {}
        for name in infinite:
            i = data.schema.get_field_index(name)
            casts[name] = pg_type(data.schema.field(i).type)
            cur.execute(f"ALTER TABLE {staging} ALTER COLUMN {quote_ident(name)} TYPE text")
            data = data.set_column(i, name, temporal.to_text(data.column(i).combine_chunks()))
        staged = data.append_column(row, pa.array(range(data.num_rows), pa.int64()))
        cur.adbc_ingest("syncline_staging", staged, mode="append", temporary=True)
        cols = column_list(data.column_names)
        values = ", ".join(
            f"{quote_ident(c)}::{casts[c]}" if c in casts else quote_ident(c)
            for c in data.column_names
        )
        if not keys:
            cur.execute(
                f"INSERT INTO {self._qualified(table.name)} ({cols}) SELECT {values} "
                f"FROM {staging} ORDER BY {quote_ident(row)}"
            )
            return
        cur.execute(
            f"INSERT INTO {self._qualified(table.name)} ({cols}) "
            f"SELECT DISTINCT ON ({column_list(keys)}) {values} FROM {staging} "
            f"ORDER BY {column_list(keys)}, {quote_ident(row)} DESC "
            + on_conflict_update(data.column_names, keys)
        )

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int:
        when = sync_time.replace(tzinfo=None) if sync_time.tzinfo is None else sync_time

        def delete(cur: Any) -> int:
            cur.execute(
                f"WITH deleted AS (DELETE FROM {self._qualified(table.name)} "
                f"WHERE {quote_ident(CQ_SOURCE_NAME)} = $1 AND {quote_ident(CQ_SYNC_TIME)} < $2 "
                "RETURNING 1) SELECT count(*) FROM deleted",
                (source_name, _naive_utc(when)),
            )
            return int(cur.fetchone()[0])

        return self._run(delete)

    def delete_record(self, table: Table, where: Mapping[str, Any]) -> None:
        if not where:
            raise WriteError(f"destination {self.ctx.name}: delete record without a condition")
        missing = [k for k in where if table.column(k) is None]
        if missing:
            raise WriteError(f"table {table.name} has no column {missing[0]}")
        cond = " AND ".join(f"{quote_ident(k)} = ${i}" for i, k in enumerate(where, start=1))
        self._run(
            lambda cur: cur.execute(
                f"DELETE FROM {self._qualified(table.name)} WHERE {cond}", tuple(where.values())
            )
        )

    def has_rows(self, table: Table) -> bool:
        """Whether the table exists and holds a row (checked before trusting a cursor)."""

        def probe(cur: Any) -> bool:
            if not self._existing(cur, table.name):
                return False
            cur.execute(f"SELECT 1 FROM {self._qualified(table.name)} LIMIT 1")
            return bool(cur.fetchall())

        return self._run(probe)

    def read(self, table: Table) -> Iterator[pa.RecordBatch]:
        def fetch(cur: Any) -> pa.Table | None:
            if not self._existing(cur, table.name):
                return None
            exprs = ", ".join(select_expr(quote_ident(c.name), c.type) for c in table.columns)
            cur.execute(f"SELECT {exprs} FROM {self._qualified(table.name)}")
            return cur.fetch_arrow_table()

        data = self._run(fetch)
        if data is None or data.num_rows == 0:
            return
        schema = to_arrow_schema(table)
        arrays = [from_pg(data.column(i), f.type) for i, f in enumerate(schema)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _naive_utc(t: datetime) -> datetime:
    from datetime import UTC

    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t
