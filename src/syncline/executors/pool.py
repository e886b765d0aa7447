"""Shards in a local process pool (``--executor processes``)."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed

from syncline.engine.settings import StopRequest
from syncline.executors.shards import (
    NOT_STARTED,
    RowsQueue,
    RowsRelay,
    ShardOutcome,
    ShardTask,
    StopSignal,
    run_shard,
    when_stopped,
)


def _run_with_queue(task: ShardTask, rows: RowsQueue, stop: StopSignal) -> ShardOutcome:
    return run_shard(task, rows.put, stop)


def _leave_sigint_to_the_parent() -> None:
    # A terminal's Ctrl-C reaches the whole process group: the parent, which handles it,
    # tells the shards to stop through their shared event.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_in_processes(
    tasks: list[ShardTask],
    workers: int,
    on_rows: Callable[[str, int], None],
    stop: StopRequest | None = None,
    parent_handles_signals: bool = False,
) -> list[ShardOutcome]:
    """Shards not started when ``stop`` is set are cancelled; running ones stop after the
    rows they read (cursors committed)."""
    # "spawn": a forked child would inherit the parent's threads and open connections.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        rows = manager.Queue()
        halt = manager.Event()
        relay = RowsRelay(rows, on_rows)
        relay.start()
        try:
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=ctx,
                initializer=_leave_sigint_to_the_parent if parent_handles_signals else None,
            ) as pool:
                futures = {pool.submit(_run_with_queue, t, rows, halt): t for t in tasks}

                def stop_shards() -> None:
                    halt.set()
                    for f in futures:
                        f.cancel()  # only those not started yet

                with when_stopped(stop, stop_shards):
                    return [_outcome(f, futures[f]) for f in as_completed(futures)]
        finally:
            relay.stop()


def _outcome(future: Future[ShardOutcome], task: ShardTask) -> ShardOutcome:
    if future.cancelled():
        return ShardOutcome(task.shard, error=NOT_STARTED)
    return future.result()
