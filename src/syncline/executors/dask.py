"""Shards as tasks on a Dask distributed cluster (``--executor dask``).

Each shard is one task with a unique key (``pure=False``: a shard has side effects, and two
submissions must never be merged). Results are collected with ``as_completed`` and released
as they arrive, so a finished shard is not run again when a worker dies later. A shard that
was running on a worker that died is run again by Dask: it resumes from the cursors its
first attempt committed, so rows can repeat (absorbed by primary keys in the overwrite
modes) but never go missing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from syncline.engine.settings import StopRequest
from syncline.executors.shards import ShardOutcome, ShardTask, run_shard, when_stopped
from syncline.plugin.errors import SynclineError


def _run_reporting_rows(task: ShardTask, topic: str, stop_name: str) -> ShardOutcome:
    from distributed import Event, get_worker

    worker = get_worker()
    return run_shard(task, lambda rows: worker.log_event(topic, rows), Event(stop_name))


@contextmanager
def dask_client(address: str | None) -> Iterator[Any]:
    """A client of the cluster at ``address``, or of a local cluster on loopback."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise SynclineError(
            "--executor dask needs Dask distributed: pip install 'syncline[dask]'"
        ) from e
    if address:
        try:
            client = Client(address, timeout="30s")
        except OSError as e:
            raise SynclineError(f"cannot reach the Dask scheduler at {address}: {e}") from e
        with client:
            yield client
        return
    with (
        LocalCluster(
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
            threads_per_worker=1,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def workers_of(client: Any) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def run_on_dask(
    client: Any,
    tasks: list[ShardTask],
    on_rows: Callable[[str, int], None],
    stop: StopRequest | None = None,
) -> list[ShardOutcome]:
    """Once ``stop`` is set, a shared event tells running shards to stop after the rows
    they read, and shards not started yet to end at once, opening nothing: unlike a
    cancelled future, each still returns what it did."""
    from distributed import Event, as_completed

    # Row counts travel as worker events: pushed to this client, no polling.
    topic = f"syncline-rows-{uuid.uuid4().hex}"

    def relay(event: tuple[float, list[tuple[str, int]]]) -> None:
        for table, count in event[1]:
            on_rows(table, count)

    client.subscribe_topic(topic, relay)
    halt = Event(f"syncline-stop-{uuid.uuid4().hex}", client=client)
    outcomes: list[ShardOutcome] = []
    try:
        futures = [
            client.submit(
                _run_reporting_rows,
                task,
                topic,
                halt.name,
                key=f"syncline-shard-{task.shard[0]}-of-{task.shard[1]}-{uuid.uuid4().hex}",
                pure=False,
            )
            for task in tasks
        ]
        with when_stopped(stop, halt.set):
            for future in as_completed(futures):
                outcomes.append(future.result())
                future.release()
    finally:
        client.unsubscribe_topic(topic)
        with suppress(Exception):  # a scheduler that is gone has forgotten it already
            halt.clear()  # the scheduler forgets a cleared event
    return outcomes
