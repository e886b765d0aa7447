"""1,000,000 rows of the test source into PostgreSQL and DuckDB, against the raw bulk paths.

Run: python benchmarks/bench_postgresql.py [--rows N]

Starts its own PostgreSQL server (Debian's postgresql package) on a loopback port. Paths:
- raw append: ADBC ``adbc_ingest`` (binary COPY) of the same rows into the same table;
- raw overwrite: the same rows bulk-loaded into a temporary table, then
  ``INSERT ... ON CONFLICT DO UPDATE`` over the rows already there;
- syncline append / overwrite: whole syncs (generating rows, internal columns, conversion);
- DuckDB raw: ``CREATE TABLE AS SELECT`` from the Arrow table; syncline: whole syncs in the
  default mode (upserts into a table with a primary key) and in append mode (no key).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import arrow_rows, child_report, print_table, run_child, timed_sync

TABLE = "test_some_table"


def _config(dest: str, write_mode: str, rows: int) -> str:
    return f"""kind: source
spec:
  name: bench
  path: cloudquery/test
  tables: ["{TABLE}"]
  destinations: [dest]
  spec: {{num_rows: {rows}}}
---
kind: destination
spec:
  name: dest
  write_mode: {write_mode}
{dest}"""


def _pg_dest(url: str) -> str:
    return f'  path: cloudquery/postgresql\n  spec: {{connection_string: "{url}"}}\n'


def _duck_dest(path: str) -> str:
    return f'  path: cloudquery/duckdb\n  spec: {{connection_string: "{path}"}}\n'


def _create_pg_table(url: str, write_mode: str) -> None:
    """The table exactly as syncline creates it (via a migrate run)."""
    from syncline.cli.main import main

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yml"
        path.write_text(_config(_pg_dest(url), write_mode, 1))
        assert main(["--no-log-file", "migrate", str(path)]) == 0


def _pg_prepare():  # type: ignore[no-untyped-def]
    from syncline.connectors.postgresql.types import to_copy
    from syncline.writers.values import map_columns

    return lambda r: map_columns(r, to_copy)


def raw_append(url: str, rows: int) -> float:
    import adbc_driver_postgresql.dbapi as adbc

    data = arrow_rows(rows, _pg_prepare())
    _create_pg_table(url, "append")
    start = time.perf_counter()
    with adbc.connect(url) as conn, conn.cursor() as cur:
        cur.adbc_ingest(TABLE, data, mode="append")
        conn.commit()
    return time.perf_counter() - start


def raw_overwrite(url: str, rows: int) -> float:
    import adbc_driver_postgresql.dbapi as adbc

    data = arrow_rows(rows, _pg_prepare())
    cols = ", ".join(f'"{c}"' for c in data.column_names)
    sets = ", ".join(
        f'"{c}" = excluded."{c}"' for c in data.column_names if c not in ("client_id", "id")
    )
    start = time.perf_counter()
    with adbc.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE TEMP TABLE stage (LIKE "{TABLE}" EXCLUDING ALL)')
        cur.adbc_ingest("stage", data, mode="append", temporary=True)
        cur.execute(
            f'INSERT INTO "{TABLE}" ({cols}) SELECT {cols} FROM stage '
            f"ON CONFLICT (client_id, id) DO UPDATE SET {sets}"
        )
        conn.commit()
    return time.perf_counter() - start


def duck_raw(path: str, rows: int) -> float:
    import duckdb

    from syncline.connectors.duckdb.types import to_duckdb
    from syncline.writers.values import map_columns

    data = arrow_rows(rows, lambda r: map_columns(r, to_duckdb))
    start = time.perf_counter()
    with duckdb.connect(path) as conn:
        conn.register("data", data)
        conn.execute(f'CREATE TABLE "{TABLE}" AS SELECT * FROM data')
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child")
    parser.add_argument("--url")
    args = parser.parse_args()
    rows = args.rows
    if args.child:
        name, url = args.child, args.url
        fns = {
            "pg raw append": lambda: raw_append(url, rows),
            "pg syncline append": lambda: timed_sync(_config(_pg_dest(url), "append", rows)),
            "pg raw overwrite": lambda: raw_overwrite(url, rows),
            "pg syncline overwrite": lambda: timed_sync(_config(_pg_dest(url), "overwrite", rows)),
            "duckdb raw": lambda: duck_raw(url, rows),
            "duckdb syncline": lambda: timed_sync(
                _config(_duck_dest(url), "overwrite-delete-stale", rows)
            ),
            "duckdb syncline append": lambda: timed_sync(_config(_duck_dest(url), "append", rows)),
        }
        child_report(name, fns[name])
        return

    from syncline.testing.postgres import start_server

    server = start_server()
    script = __file__
    results: dict[str, dict[str, float]] = {}
    try:
        n = str(rows)
        db = {
            k: server.create_database(f"bench_{k}")
            for k in ("raw", "sync", "raw_over", "sync_over")
        }
        results["pg raw append"] = run_child(
            script, "pg raw append", "--rows", n, "--url", db["raw"]
        )
        results["pg syncline append"] = run_child(
            script, "pg syncline append", "--rows", n, "--url", db["sync"]
        )
        # overwrite over the rows already there: first load them with a sync, then measure
        for key in ("raw_over", "sync_over"):
            run_child(script, "pg syncline overwrite", "--rows", n, "--url", db[key])
        results["pg raw overwrite"] = run_child(
            script, "pg raw overwrite", "--rows", n, "--url", db["raw_over"]
        )
        results["pg syncline overwrite"] = run_child(
            script, "pg syncline overwrite", "--rows", n, "--url", db["sync_over"]
        )
    finally:
        server.stop()
    with tempfile.TemporaryDirectory() as tmp:
        results["duckdb raw"] = run_child(
            script, "duckdb raw", "--rows", n, "--url", f"{tmp}/raw.duckdb"
        )
        results["duckdb syncline"] = run_child(
            script, "duckdb syncline", "--rows", n, "--url", f"{tmp}/sync.duckdb"
        )
        results["duckdb syncline append"] = run_child(
            script, "duckdb syncline append", "--rows", n, "--url", f"{tmp}/append.duckdb"
        )
    print_table(
        f"{rows:,} rows of {TABLE}",
        rows,
        results,
        {
            "pg syncline append": "pg raw append",
            "pg syncline overwrite": "pg raw overwrite",
            "duckdb syncline": "duckdb raw",
            "duckdb syncline append": "duckdb raw",
        },
    )


if __name__ == "__main__":
    main()
