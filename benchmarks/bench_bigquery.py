"""1,000,000 rows of the test source into the BigQuery emulator, against its own bulk paths.

Run: python benchmarks/bench_bigquery.py [--rows N] [--insert-rows N] [--sweep]

Needs the local-bigquery emulator that `.ci/run` installs (SYNCLINE_BIGQUERY_EMULATOR, or the
cache folder it uses); this script starts it on a loopback port. Paths:
- raw load job: the same rows as one Parquet file, one load job (the emulator's bulk path);
- syncline load jobs: a whole sync with batch_size 200000 (five Parquet load jobs);
- raw insertAll: the same rows as JSON, 50,000-row insertAll requests, with the client;
- syncline insertAll: a whole sync with CloudQuery's default batch_size (10000 rows).
The emulator stores streamed rows at about 1,500 rows/s, so the insertAll pair runs on
``--insert-rows`` rows (100,000 by default).
``--sweep`` also times one batch of 1,000 to 200,000 rows through each path, which is what
chose the size from which a batch goes through a load job.
The emulator is DuckDB behind BigQuery's REST API: its speeds say how much syncline adds, not
how fast BigQuery is.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import arrow_rows, child_report, print_table, run_child, timed_sync

TABLE = "test_some_table"
PROJECT = "bench"


def _emulator() -> tuple[subprocess.Popen[bytes], str]:
    from syncline.testing.postgres import free_port

    default = Path.home() / ".cache/syncline-ci/bigquery-emulator/bin/local-bigquery"
    exe = os.environ.get("SYNCLINE_BIGQUERY_EMULATOR") or str(default)
    port, grpc_port = free_port(), free_port()
    data = tempfile.mkdtemp(prefix="bq-bench-")
    proc = subprocess.Popen(
        [exe, "serve", "--host", "127.0.0.1", "--port", str(port), "--grpc-port",
         str(grpc_port), "--project", PROJECT, "--data-dir", data],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"http://{host}/bigquery/v2/projects/{PROJECT}/datasets")
            return proc, host
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("the BigQuery emulator did not start") from None
            time.sleep(0.2)


def _config(dataset: str, rows: int, batch_size: int) -> str:
    return f"""kind: source
spec:
  name: bench
  path: cloudquery/test
  tables: ["{TABLE}"]
  destinations: [bq]
  spec: {{num_rows: {rows}}}
---
kind: destination
spec:
  name: bq
  path: cloudquery/bigquery
  write_mode: append
  spec:
    project_id: {PROJECT}
    dataset_id: {dataset}
    batch_size: {batch_size}
    batch_size_bytes: 1000000000
"""


def _destination(dataset: str):  # type: ignore[no-untyped-def]
    from syncline.connectors.bigquery import BigQueryDestination, BigQuerySpec
    from syncline.plugin.contracts import PluginContext

    return BigQueryDestination(
        BigQuerySpec(project_id=PROJECT, dataset_id=dataset), PluginContext("bench")
    )


def _prepared(dataset: str, rows: int, table: str = TABLE):  # type: ignore[no-untyped-def]
    """The rows as syncline prepares them, and the destination with the table created."""
    from syncline.connectors.bigquery.types import to_bigquery
    from syncline.schema.table import Column, Table
    from syncline.writers.values import map_columns

    data = arrow_rows(rows, lambda r: r)
    t = Table(name=table, columns=tuple(Column(f.name, f.type) for f in data.schema))
    p = _destination(dataset)
    p.migrate_tables([t], False)
    prepared = [map_columns(b, to_bigquery) for b in data.to_batches()]
    return p, t, prepared


def raw_load(dataset: str, rows: int) -> float:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from google.cloud import bigquery

    p, t, prepared = _prepared(dataset, rows)
    start = time.perf_counter()
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_batches(prepared), buffer)
    buffer.seek(0)
    config = bigquery.LoadJobConfig(source_format="PARQUET", write_disposition="WRITE_APPEND")
    p._bq().load_table_from_file(buffer, p._ref(t.name), job_config=config).result()
    return time.perf_counter() - start


def raw_insert_all(dataset: str, rows: int) -> float:
    from syncline.connectors.bigquery.types import json_rows

    p, t, prepared = _prepared(dataset, rows)
    start = time.perf_counter()
    client, ref = p._bq(), p._ref(t.name)
    for batch in prepared:
        body = json_rows(batch)
        for i in range(0, len(body), 50_000):
            chunk = body[i : i + 50_000]
            assert not client.insert_rows_json(ref, chunk, row_ids=[None] * len(chunk))
    return time.perf_counter() - start


def sweep(dataset: str) -> None:
    import pyarrow as pa

    from syncline.connectors.bigquery import writes

    print(f"{'batch rows':>10} {'insertAll s':>12} {'load job s':>11}")
    for n in (1_000, 10_000, 50_000, 100_000, 200_000):
        times = []
        for path in (writes.insert_all, writes.load_parquet):
            p, t, prepared = _prepared(dataset, n, f"sweep_{n}_{path.__name__}")
            data = pa.Table.from_batches(prepared)
            target = writes.Target(p._bq(), p._ref(t.name), "bench")
            start = time.perf_counter()
            path(target, data)
            times.append(time.perf_counter() - start)
        print(f"{n:>10,} {times[0]:>12.2f} {times[1]:>11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child")
    parser.add_argument("--dataset")
    parser.add_argument("--insert-rows", type=int, default=100_000)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    rows = args.rows
    if args.child:
        ds = args.dataset
        fns = {
            "bq raw load job": lambda: raw_load(ds, rows),
            "bq syncline load jobs": lambda: timed_sync(_config(ds, rows, 200_000)),
            "bq raw insertAll": lambda: raw_insert_all(ds, rows),
            "bq syncline insertAll": lambda: timed_sync(_config(ds, rows, 10_000)),
        }
        child_report(args.child, fns[args.child])
        return
    proc, host = _emulator()
    os.environ["BIGQUERY_EMULATOR_HOST"] = host
    results: dict[str, dict[str, float]] = {}
    streamed: dict[str, dict[str, float]] = {}
    try:
        if args.sweep:
            sweep("sweep")
        for i, name in enumerate(["bq raw load job", "bq syncline load jobs"]):
            results[name] = run_child(
                __file__, name, "--rows", str(rows), "--dataset", f"bench_{i}"
            )
        for i, name in enumerate(["bq raw insertAll", "bq syncline insertAll"]):
            streamed[name] = run_child(
                __file__, name, "--rows", str(args.insert_rows), "--dataset", f"stream_{i}"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print_table(
        f"{rows:,} rows of {TABLE} into the BigQuery emulator",
        rows,
        results,
        {"bq syncline load jobs": "bq raw load job"},
    )
    print_table(
        f"{args.insert_rows:,} rows streamed into the BigQuery emulator",
        args.insert_rows,
        streamed,
        {"bq syncline insertAll": "bq raw insertAll"},
    )


if __name__ == "__main__":
    main()
