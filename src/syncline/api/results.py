"""Typed results of the public API, and the progress callbacks it reports through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from syncline.engine.summary import SourceResult
from syncline.plugin.errors import SynclineError


@dataclass(frozen=True)
class TableResult:
    """One table of one source: rows written, errors, time from its first row to its end."""

    name: str
    rows: int
    errors: int
    duration_s: float


@dataclass(frozen=True)
class SourceSyncResult:
    """One source's sync: per-table figures and the cursors it committed."""

    name: str
    path: str
    destinations: tuple[str, ...]
    tables: Mapping[str, TableResult]
    duration_s: float
    # The last value committed per cursor key (None: the key was cleared).
    cursors: Mapping[str, str | None]
    warnings: int = 0
    # Why the source failed; None when it ran to the end (tables may still have errors).
    error: str | None = None

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    @property
    def errors(self) -> int:
        return sum(t.errors for t in self.tables.values())

    @property
    def ok(self) -> bool:
        return self.error is None and self.errors == 0


@dataclass(frozen=True)
class SyncResult:
    """A whole sync: one entry per source, in config order."""

    sources: tuple[SourceSyncResult, ...] = field(default_factory=tuple)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sources)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.sources)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sources)

    def source(self, name: str) -> SourceSyncResult:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


class SyncFailedError(SynclineError):
    """A source failed (a failed write, a lost connection) or the sync was stopped.

    The message is the one the CLI prints; ``result`` holds what was done up to the failure
    (cursors in it were committed only after their rows were durable). ``signum`` is the
    signal that stopped the sync, 0 when ``stop`` was set, None when it was not stopped.
    """

    def __init__(self, message: str, result: SyncResult, signum: int | None = None) -> None:
        super().__init__(message)
        self.result = result
        self.signum = signum

    @property
    def stopped(self) -> bool:
        return self.signum is not None


@dataclass(frozen=True)
class ConnectionResult:
    """One plugin's connection test: ``error`` is None when it connected (secrets redacted)."""

    kind: str  # source or destination
    name: str
    path: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class Progress(Protocol):
    """Callbacks a sync reports through, from the thread that runs it.

    Subclass :class:`NoProgress` to implement only the ones you need. ``rows`` counts rows
    read from the source, ``rows_written`` rows durable on every destination;
    ``table_finished`` says the source sent all of a table's rows.
    """

    def source_started(self, source: str, destinations: list[str]) -> None: ...
    def table_started(self, table: str) -> None: ...
    def rows(self, table: str, count: int) -> None: ...
    def rows_written(self, table: str, count: int) -> None: ...
    def table_error(self, table: str, message: str) -> None: ...
    def table_finished(self, table: str) -> None: ...
    def source_finished(self, result: SourceSyncResult) -> None: ...


class NoProgress:
    """Progress callbacks that do nothing."""

    def source_started(self, source: str, destinations: list[str]) -> None: ...
    def table_started(self, table: str) -> None: ...
    def rows(self, table: str, count: int) -> None: ...
    def rows_written(self, table: str, count: int) -> None: ...
    def table_error(self, table: str, message: str) -> None: ...
    def table_finished(self, table: str) -> None: ...
    def source_finished(self, result: SourceSyncResult) -> None: ...


def source_result(r: SourceResult) -> SourceSyncResult:
    tables = {
        name: TableResult(
            name, s.rows, s.errors, max(0.0, s.finished - s.started) if s.started else 0.0
        )
        for name, s in sorted(r.tables.items())
    }
    return SourceSyncResult(
        name=r.source_name,
        path=r.source_path,
        destinations=tuple(name for name, _ in r.destinations),
        tables=tables,
        duration_s=r.duration_s,
        cursors=dict(r.cursors),
        warnings=r.warnings,
        error=r.failed,
    )


def sync_result(results: list[SourceResult]) -> SyncResult:
    return SyncResult(tuple(source_result(r) for r in results))


class EngineProgress:
    """Adapts the public callbacks to the engine's (which report engine results)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def source_started(self, source: str, destinations: list[str]) -> None:
        self.progress.source_started(source, destinations)

    def table_started(self, table: str) -> None:
        self.progress.table_started(table)

    def rows(self, table: str, count: int) -> None:
        self.progress.rows(table, count)

    def rows_written(self, table: str, count: int) -> None:
        self.progress.rows_written(table, count)

    def table_finished(self, table: str) -> None:
        self.progress.table_finished(table)

    def table_error(self, table: str, message: str) -> None:
        self.progress.table_error(table, message)

    def source_finished(self, result: SourceResult) -> None:
        self.progress.source_finished(source_result(result))
