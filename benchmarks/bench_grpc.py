"""1,000,000 rows of the test source into SQLite: plugins in-process against the same plugins
served over CloudQuery plugin protocol v3 (``registry: local``, unix socket, Arrow IPC).

Run: python benchmarks/bench_grpc.py [--rows N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import child_report, print_table, run_child, timed_sync

TABLE = "test_some_table"


def _config(rows: int, db: str, external: bool) -> str:
    src, dst, reg = "cloudquery/test", "cloudquery/sqlite", "cloudquery"
    if external:
        src, dst, reg = (
            shutil.which("syncline-plugin-test"),
            shutil.which("syncline-plugin-sqlite"),
            "local",
        )
    return f"""kind: source
spec:
  name: bench
  path: {src}
  registry: {reg}
  tables: ["{TABLE}"]
  destinations: [sqlite]
  spec: {{num_rows: {rows}}}
---
kind: destination
spec:
  name: sqlite
  path: {dst}
  registry: {reg}
  spec: {{connection_string: "{db}"}}
"""


def run(rows: int, external: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        return timed_sync(_config(rows, f"{tmp}/bench.sqlite", external))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child_report(args.child, lambda: run(args.rows, args.child == "over gRPC"))
        return
    n = str(args.rows)
    results = {name: run_child(__file__, name, "--rows", n) for name in ("in-process", "over gRPC")}
    print_table(
        f"{args.rows:,} rows of {TABLE} into SQLite",
        args.rows,
        results,
        {"over gRPC": "in-process"},
    )
    print("(peak MB of the gRPC run is syncline's own process; the plugins run in their own)")


if __name__ == "__main__":
    main()
