"""The PostgreSQL source: tables of one schema, streamed from the server as Arrow batches.

Tables listed in ``incremental`` (table -> cursor column) sync incrementally: rows whose
cursor is at or after the last committed value (inclusive, so rows sharing the boundary value
are never skipped; primary keys absorb the repeats), in cursor order, with a checkpoint after
every batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from syncline.connectors.postgresql_source import connections
from syncline.connectors.postgresql_source.types import arrow_type, convert
from syncline.messages import Checkpoint, SyncMessage
from syncline.plugin.contracts import PluginContext, StateReader, SyncOptions
from syncline.plugin.errors import PluginInitError
from syncline.plugin.specs import TableOptions
from syncline.scheduler import Resolver, sync_selected
from syncline.schema.internal import (
    CQ_ID,
    CQ_PARENT_ID,
    RESERVED_NAMES,
    unreserved_name,
    with_cq_id_columns,
)
from syncline.schema.table import Column, Table
from syncline.schema.types import JSON
from syncline.state.cursors import moved
from syncline.state.keys import cursor_key
from syncline.writers.adbc_session import Connection
from syncline.writers.sql import quote_ident


class PostgreSQLSourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    connection_string: str = Field(description="libpq URL or key/value string.")
    schema_name: str = Field("public", alias="schema", description="Schema to read tables from.")
    incremental: dict[str, str] = Field(
        default_factory=dict,
        description="Tables to sync incrementally, each with its cursor column "
        "(e.g. updated_at or an increasing id).",
    )
    table_options: dict[str, TableOptions] = Field(
        default_factory=dict,
        description="Per-table settings, e.g. {orders: {lag: 10m}} for an incremental table "
        "with a time cursor.",
    )
    batch_size: int = Field(10_000, ge=1, description="Rows per record batch and checkpoint.")
    concurrency: int = Field(4, ge=1, description="Tables read at the same time.")


_COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       coalesce(a.attnum = any(i.indkey), false), coalesce(d.description, '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
LEFT JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = a.attnum
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum
"""
# Tables whose array columns one statement checks for nested arrays.
_ARRAY_CHECKS_PER_QUERY = 200


class PostgreSQLSource:
    def __init__(self, spec: PostgreSQLSourceSpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self._tables: list[Table] | None = None
        # table -> Arrow column name -> the SELECT expression of its value
        self._select: dict[str, dict[str, str]] = {}
        self._pool = connections.ConnectionPool(self._connect)

    def _connect(self) -> Connection:
        try:
            return connections.open_connection(self.spec.connection_string)
        except Exception as e:
            raise PluginInitError(f"source {self.ctx.name}: cannot connect: {e}") from e

    def test_connection(self) -> None:
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()

    def close(self) -> None:
        self._pool.close()

    def tables(self) -> list[Table]:
        """Every table of the schema with its columns and keys, from one catalog query."""
        if self._tables is not None:
            return self._tables
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.execute(_COLUMNS_SQL, (self.spec.schema_name,))
            rows = cur.fetchall()
        columns: dict[str, list[Column]] = {}
        arrays: dict[str, list[tuple[str, str]]] = {}
        for table, name, pg, not_null, pk, description in rows:
            t, as_text = arrow_type(pg)
            out = name
            if name in RESERVED_NAMES:
                out = unreserved_name(name)
                self.ctx.logger.warning(
                    "source %s: table %s: column %s is delivered as %s (%s is an internal name)",
                    self.ctx.name,
                    table,
                    name,
                    out,
                    name,
                )
            expr = f"{quote_ident(name)}::text" if as_text else quote_ident(name)
            self._select.setdefault(table, {})[out] = expr
            if pa.types.is_list(t):
                arrays.setdefault(table, []).append((name, out))
            cursor = self.spec.incremental.get(table) == name
            columns.setdefault(table, []).append(
                Column(
                    out, t, description, primary_key=pk, not_null=not_null, incremental_key=cursor
                )
            )
        if arrays:
            self._multidimensional(cur_columns=columns, arrays=arrays)
        for table, col in self.spec.incremental.items():
            if table not in columns or not any(c.name == _arrow_name(col) for c in columns[table]):
                raise PluginInitError(
                    f"source {self.ctx.name}: incremental: no column {col} in table "
                    f"{self.spec.schema_name}.{table}"
                )
        self._check_lag(columns)
        self._tables = [
            with_cq_id_columns(
                Table(name, tuple(cols), is_incremental=name in self.spec.incremental)
            )
            for name, cols in sorted(columns.items())
        ]
        return self._tables

    def _multidimensional(
        self, cur_columns: dict[str, list[Column]], arrays: dict[str, list[tuple[str, str]]]
    ) -> None:
        """Array columns holding an array of more than one dimension become JSON (nested
        lists), so no value is flattened; PostgreSQL's column type does not say.

        One statement covers up to _ARRAY_CHECKS_PER_QUERY tables: a row per table holding a
        flag per array column."""
        pending = list(arrays.items())
        found: dict[str, list[bool]] = {}
        with self._pool.connection() as conn, conn.cursor() as cur:
            for start in range(0, len(pending), _ARRAY_CHECKS_PER_QUERY):
                parts = []
                for i, (table, names) in enumerate(
                    pending[start : start + _ARRAY_CHECKS_PER_QUERY]
                ):
                    checks = ", ".join(
                        f"coalesce(bool_or(array_ndims({quote_ident(n)}) > 1), false)"
                        for n, _ in names
                    )
                    source = f"{quote_ident(self.spec.schema_name)}.{quote_ident(table)}"
                    parts.append(f"SELECT {start + i} AS i, ARRAY[{checks}] AS f FROM {source}")
                cur.execute(" UNION ALL ".join(parts))
                for i, flags in cur.fetchall():
                    found[pending[i][0]] = list(flags)
        for table, names in pending:
            for (name, out), nested in zip(names, found[table], strict=True):
                if not nested:
                    continue
                self._select[table][out] = f"to_jsonb({quote_ident(name)})::text"
                cur_columns[table] = [
                    replace(c, type=JSON) if c.name == out else c for c in cur_columns[table]
                ]

    def _check_lag(self, columns: dict[str, list[Column]]) -> None:
        for table, options in self.spec.table_options.items():
            cursor = self.spec.incremental.get(table)
            if not options.lag:
                continue
            if cursor is None:
                raise PluginInitError(
                    f"source {self.ctx.name}: table_options.{table}.lag: {table} is not "
                    "listed in incremental"
                )
            kind = next(c.type for c in columns[table] if c.name == _arrow_name(cursor))
            if not (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
                raise PluginInitError(
                    f"source {self.ctx.name}: table_options.{table}.lag needs a time cursor; "
                    f"{cursor} is {kind}"
                )

    def sync(self, options: SyncOptions, state: StateReader) -> Iterator[SyncMessage]:
        tables = self.tables()
        yield from sync_selected(
            tables,
            options,
            {t.name: self._resolver(t) for t in tables},
            clients=lambda: [None],
            state=state,
            concurrency=self.spec.concurrency,
            batch_rows=self.spec.batch_size,
            logger=self.ctx.logger,
        )

    def _resolver(self, table: Table) -> Resolver:
        own = [c for c in table.columns if c.name not in (CQ_ID, CQ_PARENT_ID)]
        exprs = self._select[table.name]
        select = ", ".join(exprs[c.name] for c in own)
        source = f"{quote_ident(self.spec.schema_name)}.{quote_ident(table.name)}"
        cursor_col = self.spec.incremental.get(table.name)
        options = self.spec.table_options.get(table.name)
        lag = options.lag if options else 0.0
        key = cursor_key(table.name)

        def resolve(
            client: Any, parent: Any, state: StateReader
        ) -> Iterable[pa.RecordBatch | Checkpoint]:
            sql = f"SELECT {select} FROM {source}"
            params: tuple[Any, ...] = ()
            last = state.get(key) if cursor_col else None
            if cursor_col:
                cursor_type = next(c for c in own if c.name == _arrow_name(cursor_col))
                if last is not None:
                    # Inclusive, compared in the column's own type (the cursor is stored as
                    # its text form); the server subtracts the lag, as inclusive_start does.
                    start = f"CAST($1 AS {_pg_cast(cursor_type)})"
                    if lag:  # late rows: re-read a window before the cursor
                        start = f"{start} - make_interval(secs => {float(lag)!r})"
                    sql += f" WHERE {quote_ident(cursor_col)} >= {start}"
                    params = (last,)
                sql += f" ORDER BY {quote_ident(cursor_col)}"
            with self._pool.connection() as conn, conn.cursor() as cur:
                reader = cur.stream(sql, params)
                for batch in reader:
                    record, lost = _rebatch(batch, own)
                    if lost:
                        self.ctx.logger.warning(
                            "source %s: table %s: %d values a column type cannot hold were "
                            "replaced (numeric NaN/Infinity by NULL, times past year 294246 by "
                            "the largest one)",
                            self.ctx.name,
                            table.name,
                            lost,
                        )
                    if record.num_rows == 0:
                        continue
                    yield record
                    if cursor_col:
                        column = record.schema.get_field_index(_arrow_name(cursor_col))
                        top = pc.max(record.column(column))
                        # Within the lag window the cursor must not move back.
                        saved = _parse_time(last) if lag and last is not None else None
                        if moved(saved, top.as_py()):
                            yield Checkpoint(key, _cursor_text(top))

        return resolve


def _arrow_name(name: str) -> str:
    return unreserved_name(name) if name in RESERVED_NAMES else name


def _rebatch(batch: pa.RecordBatch, columns: list[Column]) -> tuple[pa.RecordBatch, int]:
    converted = [convert(batch.column(i), c.type) for i, c in enumerate(columns)]
    record = pa.RecordBatch.from_arrays([a for a, _ in converted], names=[c.name for c in columns])
    return record, sum(n for _, n in converted)


def _pg_cast(column: Column) -> str:
    t = column.type
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_decimal(t):
        return "numeric"
    return "text"


def _cursor_text(value: pa.Scalar) -> str:
    v = value.as_py()
    if hasattr(v, "isoformat"):
        return str(v.isoformat())
    return str(v)


def _parse_time(text: str) -> Any:
    from datetime import date, datetime

    return datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)
