"""The raw bulk paths a sync is compared with, each run as its own process.

Run: python benchmarks/_raw.py DEST MODE RUN ROWS TARGET   (RUN is first or second)

Each generates the same rows a sync writes (internal columns included), converts them the
way the destination stores them, and only then starts its clock: the time it prints covers
the load alone, so the reference is as fast as it can be. The tables are the ones a sync
creates (``syncline migrate`` before the first run), except DuckDB's first run, which is
``CREATE TABLE AS SELECT`` (plus the primary key in overwrite mode).

- SQLite: ADBC ``adbc_ingest``; overwrite on the second run: ADBC ``executemany`` of
  ``INSERT ... ON CONFLICT DO UPDATE`` bound to the Arrow table, one transaction.
- PostgreSQL: ADBC ``adbc_ingest`` (binary COPY); overwrite on the second run: the rows
  COPYed into a temporary table, then one ``INSERT ... ON CONFLICT DO UPDATE``.
- DuckDB: ``CREATE TABLE AS SELECT`` from the Arrow table (append: ``INSERT ... SELECT`` on
  the second run); overwrite on the second run: ``DELETE ... USING`` the rows' keys, then
  ``INSERT ... SELECT``, in one transaction (the fastest hand-written upsert measured; DuckDB's
  ``INSERT ... ON CONFLICT DO UPDATE`` of the same rows was well over ten times slower).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import TABLE, arrow_rows, report_inner

KEYS = ("client_id", "id")


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in names)


def _sets(names: list[str]) -> str:
    return ", ".join(f'"{c}" = excluded."{c}"' for c in names if c not in KEYS)


def sqlite(mode: str, run: str, rows: int, target: str) -> float:
    import adbc_driver_sqlite.dbapi as adbc

    from syncline.connectors.sqlite.types import record_to_storage

    data = arrow_rows(rows, record_to_storage)
    start = time.perf_counter()
    with adbc.connect(target) as conn, conn.cursor() as cur:
        if mode == "overwrite" and run == "second":
            cols = data.column_names
            marks = ", ".join("?" for _ in cols)
            cur.executemany(
                f'INSERT INTO "{TABLE}" ({_quoted(cols)}) VALUES ({marks}) '
                f"ON CONFLICT ({_quoted(list(KEYS))}) DO UPDATE SET {_sets(cols)}",
                data,
            )
        else:
            cur.adbc_ingest(TABLE, data, mode="append")
        conn.commit()
    return time.perf_counter() - start


def postgresql(mode: str, run: str, rows: int, target: str) -> float:
    import adbc_driver_postgresql.dbapi as adbc

    from syncline.connectors.postgresql.types import to_copy
    from syncline.writers.values import map_columns

    data = arrow_rows(rows, lambda r: map_columns(r, to_copy))
    cols = data.column_names
    start = time.perf_counter()
    with adbc.connect(target) as conn, conn.cursor() as cur:
        if mode == "overwrite" and run == "second":
            cur.execute(f'CREATE TEMP TABLE stage (LIKE "{TABLE}" EXCLUDING ALL)')
            cur.adbc_ingest("stage", data, mode="append", temporary=True)
            cur.execute(
                f'INSERT INTO "{TABLE}" ({_quoted(cols)}) SELECT {_quoted(cols)} FROM stage '
                f"ON CONFLICT ({_quoted(list(KEYS))}) DO UPDATE SET {_sets(cols)}"
            )
        else:
            cur.adbc_ingest(TABLE, data, mode="append")
        conn.commit()
    return time.perf_counter() - start


def duckdb(mode: str, run: str, rows: int, target: str) -> float:
    import duckdb as duck

    from syncline.connectors.duckdb.types import to_duckdb
    from syncline.writers.values import map_columns

    data = arrow_rows(rows, lambda r: map_columns(r, to_duckdb))
    keys = _quoted(list(KEYS))
    start = time.perf_counter()
    with duck.connect(target) as conn:
        conn.register("data", data)
        if run == "first":
            conn.execute(f'CREATE TABLE "{TABLE}" AS SELECT * FROM data')
            if mode == "overwrite":
                conn.execute(f'ALTER TABLE "{TABLE}" ADD PRIMARY KEY ({keys})')
        elif mode == "append":
            conn.execute(f'INSERT INTO "{TABLE}" SELECT * FROM data')
        else:
            conn.execute("BEGIN TRANSACTION")
            match = " AND ".join(f'"{TABLE}"."{k}" = data."{k}"' for k in KEYS)
            conn.execute(f'DELETE FROM "{TABLE}" USING data WHERE {match}')
            conn.execute(f'INSERT INTO "{TABLE}" SELECT * FROM data')
            conn.execute("COMMIT")
    return time.perf_counter() - start


PATHS = {"sqlite": sqlite, "postgresql": postgresql, "duckdb": duckdb}

if __name__ == "__main__":
    dest, mode, run, rows, target = sys.argv[1:6]
    report_inner(PATHS[dest](mode, run, int(rows), target))
