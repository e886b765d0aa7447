"""1,000,000 rows of the test source into SQLite: syncline's whole sync against raw bulk paths.

Run: python benchmarks/bench_sqlite.py [--rows N]

Each path runs in its own process so peak memory (max RSS) is its own. The raw paths load the
same rows (internal _cq_* columns included), generated and converted to SQLite's storage types
before the clock starts:
``executemany`` (stdlib sqlite3, one transaction) and ADBC ``adbc_ingest``. syncline's time
covers everything: generating rows, _cq_* columns, conversion, and the upserting writes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import arrow_rows, timed_sync

TABLE = "test_some_table"


def _rows_table(rows: int):  # type: ignore[no-untyped-def]
    from syncline.connectors.sqlite.types import record_to_storage

    return arrow_rows(rows, record_to_storage)


def _create(path: str, data) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from syncline.connectors.sqlite.types import sqlite_type

    cols = ", ".join(f'"{f.name}" {sqlite_type(f.type)}' for f in data.schema)
    with sqlite3.connect(path) as conn:
        conn.execute(f'CREATE TABLE "{TABLE}" ({cols}, PRIMARY KEY (client_id, id))')


def run_executemany(rows: int, path: str) -> float:
    import sqlite3

    data = _rows_table(rows)
    _create(path, data)
    start = time.perf_counter()
    values = list(zip(*(c.to_pylist() for c in data.columns), strict=True))
    marks = ", ".join("?" for _ in data.column_names)
    with sqlite3.connect(path) as conn:
        conn.executemany(f'INSERT INTO "{TABLE}" VALUES ({marks})', values)
    return time.perf_counter() - start


def run_adbc(rows: int, path: str) -> float:
    import adbc_driver_sqlite.dbapi as adbc

    data = _rows_table(rows)
    _create(path, data)
    start = time.perf_counter()
    with adbc.connect(path) as conn, conn.cursor() as cur:
        cur.adbc_ingest(TABLE, data, mode="append")
        conn.commit()
    return time.perf_counter() - start


def run_syncline(rows: int, path: str) -> float:
    return timed_sync(
        f"""kind: source
spec:
  name: bench
  path: cloudquery/test
  tables: ["{TABLE}"]
  destinations: [sqlite]
  spec: {{num_rows: {rows}}}
---
kind: destination
spec:
  name: sqlite
  path: cloudquery/sqlite
  spec: {{connection_string: "{path}"}}
"""
    )


PATHS = {"executemany": run_executemany, "adbc_ingest": run_adbc, "syncline": run_syncline}


def child(name: str, rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        elapsed = PATHS[name](rows, str(Path(tmp) / "bench.sqlite"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"path": name, "seconds": elapsed, "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", choices=list(PATHS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    results = {}
    for name in PATHS:
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, "--rows", str(args.rows)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    fastest_raw = min(results["executemany"]["seconds"], results["adbc_ingest"]["seconds"])
    print(f"{args.rows:,} rows of {TABLE} into SQLite")
    print(f"{'path':<12} {'seconds':>8} {'rows/s':>11} {'peak MB':>8} {'x fastest raw':>14}")
    for name, r in results.items():
        print(
            f"{name:<12} {r['seconds']:>8.2f} {args.rows / r['seconds']:>11,.0f} "
            f"{r['peak_mb']:>8.0f} {r['seconds'] / fastest_raw:>14.2f}"
        )


if __name__ == "__main__":
    main()
