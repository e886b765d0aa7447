"""The PostgreSQL destination: binary COPY from Arrow (ADBC), upserts through a staging table."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from pydantic import Field

from syncline.connectors.postgresql.connection import Connection
from syncline.connectors.postgresql.types import from_pg, pg_type, select_expr, to_copy
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.plugin.errors import MigrationError, WriteError
from syncline.plugin.specs import BatchSpec, Duration
from syncline.schema import temporal
from syncline.schema.arrays import from_numpy
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.diff import ColumnShape
from syncline.schema.internal import CQ_SOURCE_NAME, CQ_SYNC_TIME, free_name
from syncline.schema.table import Table
from syncline.writers.adbc_session import Cursor
from syncline.writers.migrate import Action, plan_migrations, plan_statements, shapes
from syncline.writers.sql import column_list, latest_rows_sql, on_conflict_update, quote_ident
from syncline.writers.values import has_duplicate_keys, map_columns

T = TypeVar("T")
_UNIQUE_VIOLATION = "23505"


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
    write_connections: int = Field(
        4, ge=1, le=32, description="Connections that write small tables' batches at once."
    )
    retry_delay: Duration = Field(0.5, gt=0, description="First backoff delay, doubled each time.")


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
        # The first connection does everything but grouped writes, which all share.
        self._pool = [
            Connection(spec.connection_string, spec.max_retries, spec.retry_delay, ctx.logger)
            for _ in range(spec.write_connections)
        ]
        self._workers: ThreadPoolExecutor | None = None
        # Tables this instance created whose every batch so far was new keys: COPYed straight
        # in. A table leaves the set at its first batch that has to be upserted.
        self._fresh: set[str] = set()
        if not ctx.no_connection:
            self._run(
                lambda cur: cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
            )

    # -- connection and transactions -------------------------------------------------------

    def _run(self, work: Callable[[Cursor], T], what: str = "", slot: int = 0) -> T:
        """Run ``work(cursor)`` in one transaction on connection ``slot``."""
        try:
            return self._pool[slot].run(work)
        except (MigrationError, WriteError):
            raise
        except Exception as e:
            where = f" table {what}:" if what else ""
            raise WriteError(f"destination {self.ctx.name}:{where} {_describe(e)}") from e

    def _qualified(self, name: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(name)}"

    def test_connection(self) -> None:
        def probe(cur: Cursor) -> None:
            cur.execute("SELECT 1")
            cur.fetchall()

        self._run(probe)

    def close(self) -> None:
        if self._workers is not None:
            self._workers.shutdown(wait=True)
            self._workers = None
        for conn in self._pool:
            conn.close()

    # -- schema ----------------------------------------------------------------------------

    def _existing(self, cur: Cursor, name: str) -> list[ColumnShape]:
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
        self._fresh.update(self._run(lambda cur: self._migrate(cur, tables, force)))

    def _migrate(self, cur: Cursor, tables: Sequence[Table], force: bool) -> list[str]:
        """Carry out the plans; the tables created (empty) by them."""
        catalog = _catalog(cur, self.schema)
        plans = plan_migrations(
            self.ctx.name,
            tables,
            lambda t: shapes(t, pg_type),
            lambda t: catalog.get(t.name, []),
            force,
        )
        for plan in plans:
            qualified = self._qualified(plan.table.name)
            for sql in plan_statements(plan, qualified, pg_type, add_if_not_exists=True):
                cur.execute(sql)
        return [p.table.name for p in plans if p.action in (Action.CREATE, Action.RECREATE)]

    # -- data ------------------------------------------------------------------------------

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        return map_columns(record, to_copy)

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        if not records:
            return
        data = pa.Table.from_batches(records)
        self._run(lambda cur: self._write(cur, table, data), table.name)

    def write_tables(self, batches: Sequence[tuple[Table, Sequence[pa.RecordBatch]]]) -> None:
        """Several tables' batches, shared out over the connections (one transaction each):
        small tables cost round trips and catalog work more than rows, which the server
        does in parallel."""
        staged = [(t, pa.Table.from_batches(r)) for t, r in batches if r]
        shares = [staged[i :: len(self._pool)] for i in range(len(self._pool))]
        shares = [share for share in shares if share]
        if len(shares) > 1 and self._workers is None:
            self._workers = ThreadPoolExecutor(len(self._pool), thread_name_prefix="pg-write")
        if len(shares) <= 1 or self._workers is None:
            for share in shares:
                self._write_share(share, 0)
            return
        futures = [self._workers.submit(self._write_share, s, i) for i, s in enumerate(shares)]
        for future in futures:  # every share finishes (or fails) before this returns
            future.exception()
        for future in futures:
            future.result()

    def _write_share(self, share: list[tuple[Table, pa.Table]], slot: int) -> None:
        def write(cur: Cursor) -> None:
            for table, data in share:
                self._write(cur, table, data)

        names = ", ".join(t.name for t, _ in share[:3])
        self._run(write, names + (", ..." if len(share) > 3 else ""), slot)

    def _write(self, cur: Cursor, table: Table, data: pa.Table) -> None:
        keys = table.primary_keys
        # Binary COPY cannot carry PostgreSQL's infinities: such columns are staged as text.
        infinite = [
            f.name
            for f, col in zip(data.schema, data.columns, strict=True)
            if temporal.is_temporal(f.type) and temporal.infinite_mask(col.combine_chunks()).any()
        ]
        if not keys and not infinite:
            cur.ingest(table.name, data, db_schema=self.schema)
            return
        if table.name in self._fresh and not infinite:
            if not has_duplicate_keys(data, keys) and _copy_new(cur, self.schema, table, data):
                return
            # Keys met again: later batches are likely to repeat keys too.
            self._fresh.discard(table.name)
        _upsert_staged(cur, self._qualified(table.name), table, data, infinite)

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int:
        return self.delete_stale_tables([table], source_name, sync_time)[0]

    def delete_stale_tables(
        self, tables: Sequence[Table], source_name: str, sync_time: datetime
    ) -> list[int]:
        """Stale rows of several tables deleted in one transaction; how many per table."""
        when = _naive_utc(sync_time)

        def delete(cur: Cursor) -> list[int]:
            counts = []
            for table in tables:
                cur.execute(
                    f"WITH deleted AS (DELETE FROM {self._qualified(table.name)} "
                    f"WHERE {quote_ident(CQ_SOURCE_NAME)} = $1 "
                    f"AND {quote_ident(CQ_SYNC_TIME)} < $2 RETURNING 1) "
                    "SELECT count(*) FROM deleted",
                    (source_name, when),
                )
                counts.append(int(cur.fetchall()[0][0]))
            return counts

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

        def probe(cur: Cursor) -> bool:
            if not self._existing(cur, table.name):
                return False
            cur.execute(f"SELECT 1 FROM {self._qualified(table.name)} LIMIT 1")
            return bool(cur.fetchall())

        return self._run(probe)

    def read(self, table: Table) -> Iterator[pa.RecordBatch]:
        exprs = ", ".join(_selected(table))
        return self._read(table, f"SELECT {exprs} FROM {self._qualified(table.name)}")

    def read_latest(
        self, table: Table, key_columns: Sequence[str], version_column: str
    ) -> Iterator[pa.RecordBatch]:
        source, names = self._qualified(table.name), table.column_names
        exprs = _selected(table, "t.")
        sql = latest_rows_sql(source, names, key_columns, version_column, "ctid", exprs)
        return self._read(table, sql)

    def _read(self, table: Table, sql: str) -> Iterator[pa.RecordBatch]:
        def fetch(cur: Cursor) -> pa.Table | None:
            if not self._existing(cur, table.name):
                return None
            cur.execute(sql)
            return cur.fetch_arrow_table()

        data = self._run(fetch)
        if data is None or data.num_rows == 0:
            return
        schema = to_arrow_schema(table)
        arrays = [from_pg(data.column(i), f.type) for i, f in enumerate(schema)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _selected(table: Table, prefix: str = "") -> list[str]:
    """Each column as read back (some types travel as text)."""
    return [select_expr(prefix + quote_ident(c.name), c.type) for c in table.columns]


def _naive_utc(t: datetime) -> datetime:
    from datetime import UTC

    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _catalog(cur: Cursor, schema: str) -> dict[str, list[ColumnShape]]:
    """Every table of the schema with its columns, in one query (not one per table)."""
    cur.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "coalesce(a.attnum = any(i.indkey), false) "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
        (schema,),
    )
    out: dict[str, list[ColumnShape]] = {}
    for table, *column in cur.fetchall():
        out.setdefault(table, []).append(
            ColumnShape(column[0], column[1], bool(column[2]), bool(column[3]))
        )
    return out


def _copy_new(cur: Cursor, schema: str, table: Table, data: pa.Table) -> bool:
    """COPY straight into a table, which for rows of new keys is what an upsert does, without
    the staging table (whose creation costs more than a small table's rows). False, with
    nothing written, if a key is already there: written earlier, by this sync or another
    writer (a writer still in its transaction makes the COPY wait for its outcome)."""
    cur.execute("SAVEPOINT syncline_new_table")
    try:
        cur.ingest(table.name, data, db_schema=schema)
    except Exception as e:
        if getattr(e, "sqlstate", None) != _UNIQUE_VIOLATION:
            raise
        cur.execute("ROLLBACK TO SAVEPOINT syncline_new_table")
        return False
    cur.execute("RELEASE SAVEPOINT syncline_new_table")
    return True


def _upsert_staged(
    cur: Cursor, qualified: str, table: Table, data: pa.Table, infinite: list[str]
) -> None:
    """Bulk-load into a staging table of the same column types, then one insert; an upsert
    keeps the last row among duplicate keys (ON CONFLICT may touch a row only once)."""
    keys = table.primary_keys
    staging = quote_ident("syncline_staging")
    cur.execute(f"CREATE TEMP TABLE {staging} (LIKE {qualified} EXCLUDING ALL) ON COMMIT DROP")
    row = free_name("__syncline_row", data.column_names)
    cur.execute(f"ALTER TABLE {staging} ADD COLUMN {quote_ident(row)} bigint")
    casts = {}
    for name in infinite:
        i = data.schema.get_field_index(name)
        casts[name] = pg_type(data.schema.field(i).type)
        cur.execute(f"ALTER TABLE {staging} ALTER COLUMN {quote_ident(name)} TYPE text")
        data = data.set_column(i, name, temporal.to_text(data.column(i).combine_chunks()))
    staged = data.append_column(row, from_numpy(np.arange(data.num_rows, dtype=np.int64)))
    cur.ingest("syncline_staging", staged, temporary=True)
    cols = column_list(data.column_names)
    values = ", ".join(
        f"{quote_ident(c)}::{casts[c]}" if c in casts else quote_ident(c) for c in data.column_names
    )
    if not keys:
        cur.execute(
            f"INSERT INTO {qualified} ({cols}) SELECT {values} "
            f"FROM {staging} ORDER BY {quote_ident(row)}"
        )
    else:
        cur.execute(
            f"INSERT INTO {qualified} ({cols}) "
            f"SELECT DISTINCT ON ({column_list(keys)}) {values} FROM {staging} "
            f"ORDER BY {column_list(keys)}, {quote_ident(row)} DESC "
            + on_conflict_update(data.column_names, keys)
        )
    cur.execute(f"DROP TABLE {staging}")  # the next table of a grouped write stages anew
