"""1,000,000 rows of the test source as Parquet objects in S3 (a moto_server), against
pyarrow writing the same objects itself.

Run: python benchmarks/bench_s3.py [--rows N]

Starts moto_server (moto[server], a test dependency) on a loopback port. Paths:
- raw: the same rows written with ``pyarrow.parquet.write_table`` to the S3 filesystem, in
  objects of 100,000 rows (the file destination's default batch size);
- syncline: a whole sync into ``s3://bench/out`` (generating rows, internal columns, one
  object per batch).
moto keeps objects in memory: the ratio says what syncline adds, not how fast S3 is.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import arrow_rows, child_report, print_table, run_child, timed_sync

TABLE = "test_some_table"


def _config(rows: int) -> str:
    return f"""kind: source
spec:
  name: bench
  path: cloudquery/test
  tables: ["{TABLE}"]
  destinations: [files]
  spec: {{num_rows: {rows}}}
---
kind: destination
spec:
  name: files
  path: cloudquery/file
  write_mode: append
  spec:
    directory: s3://bench/sync
    format: parquet
"""


def raw(rows: int) -> float:
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    data = arrow_rows(rows, lambda r: r)
    host = os.environ["AWS_ENDPOINT_URL"].split("://")[1]
    fs = pafs.S3FileSystem(region="us-east-1", endpoint_override=host, scheme="http")
    start = time.perf_counter()
    for i, offset in enumerate(range(0, rows, 100_000)):
        pq.write_table(data.slice(offset, 100_000), f"bench/raw/{i}.parquet", filesystem=fs)
    return time.perf_counter() - start


def _moto() -> tuple[subprocess.Popen[bytes], str]:
    from syncline.testing.postgres import free_port

    port = free_port()
    exe = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/")
            return proc, endpoint
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("moto_server did not start") from None
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child")
    args = parser.parse_args()
    rows = args.rows
    if args.child:
        fns = {"s3 raw": lambda: raw(rows), "s3 syncline": lambda: timed_sync(_config(rows))}
        child_report(args.child, fns[args.child])
        return
    import boto3

    proc, endpoint = _moto()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
    )
    try:
        boto3.client("s3").create_bucket(Bucket="bench")
        results = {
            name: run_child(__file__, name, "--rows", str(rows))
            for name in ("s3 raw", "s3 syncline")
        }
        keys = boto3.client("s3").list_objects_v2(Bucket="bench", Prefix="sync/")["KeyCount"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print_table(
        f"{rows:,} rows of {TABLE} as Parquet objects in S3 (moto), {keys} objects",
        rows,
        results,
        {"s3 syncline": "s3 raw"},
    )


if __name__ == "__main__":
    main()
