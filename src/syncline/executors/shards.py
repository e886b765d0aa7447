"""One shard of a sync as a task that can travel: to a process pool or a Dask worker.

A task carries the config as text (read once, where the sync was asked for), so every
shard sees the same documents; ``${VAR}`` placeholders expand where the shard runs, and
relative paths resolve against the worker's working directory.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from syncline.config.reader import read_config
from syncline.config.selection import select_sources
from syncline.engine.plugins import resolve_plugins
from syncline.engine.summary import SourceResult
from syncline.engine.sync import NoProgress, StopRequest, SyncFailed, SyncSettings, run_sync

log = logging.getLogger("syncline.engine")

# (table, rows) pairs from a running shard to the process that asked for the sync.
RowsSink = Callable[[list[tuple[str, int]]], Any]


class RowsQueue(Protocol):
    """A queue shared with the shards (a manager's queue, a Dask distributed queue)."""

    def put(self, item: Any, /) -> Any: ...
    def get(self, *, timeout: float) -> Any: ...


class StopSignal(Protocol):
    """A stop shared with the shards (a manager's event, a Dask distributed event)."""

    def is_set(self) -> bool: ...
    def wait(self, timeout: float) -> bool: ...


# The error of a shard that the stop reached before it began: it opened nothing.
NOT_STARTED = "not started: the sync was stopped"


@dataclass(frozen=True)
class ShardTask:
    texts: tuple[tuple[str, str], ...]  # (file name, YAML) as read where the sync started
    shard: tuple[int, int]
    invocation_id: str
    sources: tuple[str, ...] | None = None
    tables: tuple[str, ...] | None = None
    # Tables are migrated once before any shard starts, so shards never race on DDL.
    no_migrate: bool = True
    # Cursors are guarded once before any shard starts, not once per shard.
    cursors_guarded: bool = True


@dataclass
class ShardOutcome:
    """What one shard did. A failed shard returns its error instead of raising, so that the
    results of the sources it finished travel back with it."""

    shard: tuple[int, int]
    results: list[SourceResult] = field(default_factory=list)
    error: str | None = None


def run_shard(
    task: ShardTask, sink: RowsSink | None = None, stop: StopSignal | None = None
) -> ShardOutcome:
    """Run one shard; once ``stop`` is set, it stops as a local sync does on ``stop``: the
    rows already read are written and their cursors committed."""
    if stop is not None and stop.is_set():
        return ShardOutcome(task.shard, error=NOT_STARTED)
    config = select_sources(read_config([], texts=list(task.texts)), task.sources, task.tables)
    plugins = resolve_plugins(config)
    request = StopRequest()
    settings = SyncSettings(
        no_migrate=task.no_migrate,
        shard=task.shard,
        invocation_id=task.invocation_id,
        cursors_guarded=task.cursors_guarded,
        stop=request,
    )
    progress = _BatchedRows(sink) if sink is not None else NoProgress()
    finished = threading.Event()
    if stop is not None:
        threading.Thread(
            target=_relay_stop, args=(stop, request, finished), name="syncline-stop", daemon=True
        ).start()
    try:
        results = run_sync(config, plugins, settings, progress)
    except SyncFailed as e:
        return ShardOutcome(task.shard, e.results, str(e))
    finally:
        finished.set()
        if isinstance(progress, _BatchedRows):
            progress.flush()
    return ShardOutcome(task.shard, results)


def _relay_stop(stop: StopSignal, request: StopRequest, finished: threading.Event) -> None:
    """The shared stop, seen across processes, made the shard's own (checked per message)."""
    while not finished.is_set():
        try:
            if stop.wait(0.5):
                request.request(0)
                return
        except Exception:  # the process that asked for the sync is gone: nobody to obey
            return


@contextlib.contextmanager
def when_stopped(stop: StopRequest | None, stop_shards: Callable[[], None]) -> Iterator[None]:
    """Call ``stop_shards`` (once, on a thread) if ``stop`` is set before the block ends:
    the caller's stop, or a signal it handles, reaches shards that run elsewhere."""
    if stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(0.2):
                try:
                    stop_shards()
                except Exception as e:  # the shards may have ended meanwhile
                    log.warning("could not tell the shards to stop: %s", e)
                return

    watcher = threading.Thread(target=watch, name="syncline-stop", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


class _BatchedRows(NoProgress):
    """Row counts sent at most once a second: progress must not cost a message per batch."""

    def __init__(self, sink: RowsSink, interval: float = 1.0) -> None:
        self.sink = sink
        self.interval = interval
        self.pending: dict[str, int] = {}
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def rows(self, table: str, count: int) -> None:
        with self.lock:
            self.pending[table] = self.pending.get(table, 0) + count
            due = time.monotonic() - self.last >= self.interval
        if due:
            self.flush()

    def source_finished(self, result: SourceResult) -> None:
        self.flush()

    def flush(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, {}
            self.last = time.monotonic()
        if pending:
            # progress is best effort; the data path never fails because of it
            with contextlib.suppress(Exception):
                self.sink(sorted(pending.items()))


class RowsRelay:
    """Drains row counts sent by shards (any queue with ``get(timeout=)``) on a thread and
    hands them to ``on_rows`` in the process that asked for the sync."""

    def __init__(
        self,
        source: RowsQueue,
        on_rows: Callable[[str, int], None],
    ) -> None:
        self.source = source
        self.on_rows = on_rows
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="syncline-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        get = self.source.get
        while not self._stop.is_set():
            try:
                items = get(timeout=0.5)
            except Exception:
                continue  # nothing yet (queue.Empty, or a timeout of a distributed queue)
            for table, count in items:
                self.on_rows(table, count)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
