"""Run one path as its own process and time all of it: start-up, work, exit.

Peak memory is the process's maximum resident set (for a sync over gRPC, the largest of the
engine and the plugin processes it started and reaped). CPU seconds are user plus system time
of the process and everything it reaped, which a busy machine inflates far less than wall time.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TABLE = "test_some_table"
BIN = Path(sys.executable).parent  # the syncline-plugin-* executables sit beside python


@dataclass(frozen=True)
class Sample:
    seconds: float  # wall time of the whole process
    cpu: float
    peak_mb: float
    inner: float | None = None  # what a raw path timed itself (after its rows were in memory)


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run ``cmd`` to the end; fail loudly with its output if it fails."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text}")
    inner = None
    for line in text.splitlines():
        if line.startswith('{"inner"'):
            inner = float(json.loads(line)["inner"])
    return Sample(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, inner)


def sync_cmd(config: Path, python: str = sys.executable) -> list[str]:
    return [python, "-m", "syncline", "--no-log-file", "sync", str(config)]


def source_doc(rows: int, dest: str, external: bool) -> str:
    path, registry = "cloudquery/test", "cloudquery"
    if external:
        path, registry = str(BIN / "syncline-plugin-test"), "local"
    return f"""kind: source
spec:
  name: bench
  path: {path}
  registry: {registry}
  tables: ["{TABLE}"]
  skip_dependent_tables: true
  destinations: [{dest}]
  spec: {{num_rows: {rows}, num_sub_rows: 0}}
"""


def destination_doc(kind: str, target: str, write_mode: str, external: bool) -> str:
    path, registry = f"cloudquery/{kind}", "cloudquery"
    if external:
        path, registry = str(BIN / f"syncline-plugin-{kind}"), "local"
    return f"""---
kind: destination
spec:
  name: {kind}
  path: {path}
  registry: {registry}
  write_mode: {write_mode}
  spec: {{connection_string: "{target}"}}
"""


def arrow_rows(rows: int, prepare):  # type: ignore[no-untyped-def]
    """The rows a sync writes (internal columns included), converted by ``prepare``."""
    from datetime import UTC, datetime

    import pyarrow as pa

    from syncline.connectors.test_source.tables import some_table_batch
    from syncline.schema.internal import random_uuids
    from syncline.schema.types import UUID

    now = datetime.now(UTC)
    batches = []
    for start in range(1, rows + 1, 100_000):
        b = some_table_batch(0, start, min(start + 100_000, rows + 1))
        n = b.num_rows
        internal = {
            "_cq_sync_time": pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), n),
            "_cq_source_name": pa.repeat(pa.scalar("bench", pa.utf8()), n),
            "_cq_id": random_uuids(n),
            "_cq_parent_id": pa.nulls(n, UUID),
        }
        full = pa.RecordBatch.from_arrays(
            [*internal.values(), *b.columns], names=[*internal, *b.schema.names]
        )
        batches.append(prepare(full))
    return pa.Table.from_batches(batches)


def report_inner(seconds: float) -> None:
    print(json.dumps({"inner": seconds}))


# -- single-run helpers of the BigQuery and S3 benchmarks ---------------------------------


def child_report(name: str, fn: Callable[[], float]) -> None:
    seconds = fn()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"path": name, "seconds": seconds, "peak_mb": peak_mb}))


def run_child(script: str, name: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, script, "--child", name, *args], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stdout}\n{out.stderr}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def print_table(
    title: str, rows: int, results: dict[str, dict[str, float]], pairs: dict[str, str]
) -> None:
    """``pairs`` maps each syncline path to the raw path it is compared with."""
    print(title)
    print(f"{'path':<24} {'seconds':>8} {'rows/s':>11} {'peak MB':>8} {'x raw':>7}")
    for name, r in results.items():
        raw = pairs.get(name)
        ratio = f"{r['seconds'] / results[raw]['seconds']:>7.2f}" if raw else f"{'':>7}"
        print(
            f"{name:<24} {r['seconds']:>8.2f} {rows / r['seconds']:>11,.0f} {r['peak_mb']:>8.0f} {ratio}"
        )


def timed_sync(config: str) -> float:
    """Seconds for ``syncline sync`` of this config text, run in this process."""
    from syncline.cli.main import main

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yml"
        path.write_text(config)
        start = time.perf_counter()
        code = main(["--no-log-file", "sync", str(path)])
        elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"sync failed with exit code {code}")
    return elapsed
