"""Progress while syncing: a live table on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table as RichTable

from syncline.api.results import SourceSyncResult

log = logging.getLogger("syncline.progress")


class _Counts:
    def __init__(self) -> None:
        self.start = time.monotonic()
        self.rows = 0
        self.errors = 0
        self.per_table: dict[str, int] = {}

    def add(self, table: str, count: int) -> None:
        self.rows += count
        self.per_table[table] = self.per_table.get(table, 0) + count

    def rate(self) -> float:
        elapsed = time.monotonic() - self.start
        return self.rows / elapsed if elapsed > 0 else 0.0


class TerminalProgress:
    """A live per-table view, refreshed a few times a second."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.counts = _Counts()
        self.source = ""
        self.live: Live | None = None

    def _render(self) -> RichTable:
        c = self.counts
        grid = RichTable(title=f"Syncing {self.source}", title_justify="left")
        grid.add_column("table")
        grid.add_column("rows", justify="right")
        for name, n in sorted(c.per_table.items()):
            grid.add_row(name, f"{n:,}")
        grid.caption = (
            f"{c.rows:,} rows, {c.rate():,.0f} rows/s, {c.errors} errors, "
            f"{time.monotonic() - c.start:.0f}s"
        )
        return grid

    def source_started(self, source: str, destinations: list[str]) -> None:
        self.source = f"{source} -> {', '.join(destinations)}"
        self.counts = _Counts()
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
        self.live.start()

    def rows(self, table: str, count: int) -> None:
        self.counts.add(table, count)
        if self.live is not None:
            self.live.update(self._render())

    def table_error(self, table: str, message: str) -> None:
        self.counts.errors += 1

    def source_finished(self, result: SourceSyncResult) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


class LogProgress:
    """One log line every ``interval`` seconds; for pipes, CI and log collectors."""

    def __init__(self, interval: float = 5.0, stream: TextIO | None = None) -> None:
        self.interval = interval
        self.stream = stream or sys.stderr
        self.counts = _Counts()
        self.last = 0.0
        self.source = ""

    def source_started(self, source: str, destinations: list[str]) -> None:
        self.counts = _Counts()
        self.last = time.monotonic()
        self.source = source

    def rows(self, table: str, count: int) -> None:
        self.counts.add(table, count)
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            figures = {
                "source": self.source,
                "rows": self.counts.rows,
                "rows_per_s": round(self.counts.rate()),
                "errors": self.counts.errors,
            }
            log.info("progress", extra=figures)
            text = " ".join(f"{k}={v}" for k, v in figures.items())
            print(f"progress {text}", file=self.stream, flush=True)

    def table_error(self, table: str, message: str) -> None:
        self.counts.errors += 1

    def source_finished(self, result: SourceSyncResult) -> None:
        """Rows per table are in the log already (the engine logs each table's end)."""
