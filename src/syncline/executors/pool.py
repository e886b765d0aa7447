"""Shards in a local process pool (``--executor processes``)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from syncline.executors.shards import RowsQueue, RowsRelay, ShardOutcome, ShardTask, run_shard


def _run_with_queue(task: ShardTask, rows: RowsQueue) -> ShardOutcome:
    return run_shard(task, rows.put)


def run_in_processes(
    tasks: list[ShardTask], workers: int, on_rows: Callable[[str, int], None]
) -> list[ShardOutcome]:
    # "spawn": a forked child would inherit the parent's threads and open connections.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        rows = manager.Queue()
        relay = RowsRelay(rows, on_rows)
        relay.start()
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = [pool.submit(_run_with_queue, t, rows) for t in tasks]
                return [f.result() for f in as_completed(futures)]
        finally:
            relay.stop()
