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
