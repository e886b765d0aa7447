"""Loading an append-only state table of many versions: each key's latest row read in SQL,
against every row read and ranked in Arrow (what a backend without ``read_latest`` does).

Run: python benchmarks/bench_state.py [--keys 1000] [--versions 1000] [--repeats 3]

A SQLite state table in append mode (``key``, ``value``, ``version``) gets ``--versions``
rows per key, as that many syncs would leave it. Each figure is a fresh process that opens
the destination and runs ``StateClient.load()``: wall and CPU seconds of the load alone, and the process's
peak resident memory before and after it (the median of ``--repeats`` runs).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from syncline.connectors.sqlite import SQLiteDestination, SQLiteSpec
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.schema.table import Table
from syncline.state.client import StateClient
from syncline.state.codec import state_table

TABLE = "cq_state"


class FullReads:
    """The SQLite destination without ``read_latest``: every row is read, as before."""

    def __init__(self, plugin: SQLiteDestination) -> None:
        self.plugin = plugin
        self.limits: BatchLimits = plugin.limits

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        self.plugin.migrate_tables(tables, force)

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        return self.plugin.prepare(table, record)

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        self.plugin.write_batch(table, records)

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int | None:
        return self.plugin.delete_stale(table, source_name, sync_time)

    def delete_record(self, table: Table, where: Mapping[str, Any]) -> None:
        self.plugin.delete_record(table, where)

    def read(self, table: Table) -> Iterator[pa.RecordBatch]:
        return self.plugin.read(table)

    def test_connection(self) -> None:
        self.plugin.test_connection()

    def close(self) -> None:
        self.plugin.close()


def build(path: Path, keys: int, versions: int) -> None:
    plugin = SQLiteDestination(SQLiteSpec(connection_string=str(path)), PluginContext("bench"))
    table = state_table(TABLE, upsert=False)
    plugin.migrate_tables([table], False)
    names = [f"source/table_{k}" for k in range(keys)]
    step = 100
    for first in range(1, versions + 1, step):
        span = range(first, min(first + step, versions + 1))
        record = pa.RecordBatch.from_pydict(
            {
                "key": [n for _ in span for n in names],
                "value": [f"2026-01-01T00:00:{v:06d}" for v in span for _ in names],
                "version": pa.array([v for v in span for _ in names], pa.uint64()),
            }
        )
        plugin.write_batch(table, [plugin.prepare(table, record)])
    plugin.close()


def load(path: Path, full: bool) -> None:
    """One measured load, printed as JSON (run in its own process)."""
    plugin = SQLiteDestination(SQLiteSpec(connection_string=str(path)), PluginContext("bench"))
    client = StateClient(FullReads(plugin) if full else plugin, TABLE, upsert=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu = time.perf_counter(), time.process_time()
    client.load()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    client.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "before_mb": before,
                "peak_mb": peak,
                "keys": len(client.cursors),
            }
        )
    )


def measure(path: Path, full: bool, repeats: int) -> dict[str, float]:
    runs = []
    for _ in range(repeats):
        cmd = [sys.executable, __file__, "--load", str(path)] + (["--full"] if full else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load(args.load, args.full)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.sqlite"
        build(path, args.keys, args.versions)
        print(f"SQLite state table, {args.keys:,} keys x {args.versions:,} versions")
        for label, full in (("every row, ranked in Arrow", True), ("latest row per key", False)):
            m = measure(path, full, args.repeats)
            print(
                f"  {label:28} {m['seconds']:5.2f} s ({m['cpu']:.2f} s CPU)   peak {m['peak_mb']:6.0f} MB "
                f"(+{m['peak_mb'] - m['before_mb']:.0f} MB over the {m['before_mb']:.0f} MB "
                f"before the load), {int(m['keys']):,} keys"
            )


if __name__ == "__main__":
    main()
