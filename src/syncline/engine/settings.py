"""What a caller gives a sync (settings, a stop request, a progress listener) and the
errors it gets back."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from syncline.engine.summary import SourceResult
from syncline.plugin.errors import SynclineError


class SyncFailed(SynclineError):
    def __init__(
        self, message: str, results: list[SourceResult], interrupted: int | None = None
    ) -> None:
        super().__init__(message)
        self.results = results
        # The signal number when a stop was requested (SIGINT, SIGTERM).
        self.interrupted = interrupted


class SyncInterrupted(SynclineError):
    def __init__(self, signum: int) -> None:
        # signum 0: a stop requested by a caller of the API rather than by a signal
        super().__init__(
            f"sync interrupted by signal {signum}" if signum else "sync interrupted on request"
        )
        self.signum = signum


class Progress(Protocol):
    def source_started(self, source: str, destinations: list[str]) -> None: ...
    def table_started(self, table: str) -> None: ...
    def rows(self, table: str, count: int) -> None: ...
    def rows_written(self, table: str, count: int) -> None: ...
    def table_error(self, table: str, message: str) -> None: ...
    def table_finished(self, table: str) -> None: ...
    def source_finished(self, result: SourceResult) -> None: ...


class NoProgress:
    def source_started(self, source: str, destinations: list[str]) -> None: ...
    def table_started(self, table: str) -> None: ...
    def rows(self, table: str, count: int) -> None: ...
    def rows_written(self, table: str, count: int) -> None: ...
    def table_error(self, table: str, message: str) -> None: ...
    def table_finished(self, table: str) -> None: ...
    def source_finished(self, result: SourceResult) -> None: ...


@dataclass(frozen=True)
class SyncSettings:
    no_migrate: bool = False
    shard: tuple[int, int] | None = None
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lock_dir: str | None = None  # None: $SYNCLINE_LOCK_DIR or the temp folder
    # Set (to the signal number) to stop: rows already received are written and the cursors
    # covering them committed; no new rows are read and nothing is deleted as stale.
    stop: StopRequest | None = None
    # Tables whose cursors this run ignores (syncs in full, delete-stales, then commits the
    # new cursors at the end); an empty tuple: every incremental table; None: no refresh.
    full_refresh: tuple[str, ...] | None = None
    # True when the cursor guard ran already, once for every shard of a sharded run.
    cursors_guarded: bool = False


class StopRequest:
    """A cooperative stop; ``event`` lets a caller (an orchestrator) share its own."""

    def __init__(self, event: threading.Event | None = None) -> None:
        self._event = event or threading.Event()
        self.signum = 0

    def request(self, signum: int) -> None:
        self.signum = signum
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)
