"""Run each benchmark path in its own process (so peak memory is its own) and print ratios."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Callable


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


def arrow_rows(rows: int, prepare):  # type: ignore[no-untyped-def]
    """The rows syncline writes (internal columns included), prepared by ``prepare``."""
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


def timed_sync(config: str) -> float:
    """Seconds for ``syncline sync`` of this config text, run in this process."""
    import tempfile
    import time
    from pathlib import Path

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
