"""Progress while syncing: a live view on a terminal, a line every few seconds otherwise.

Both show the totals (phase, tables done of those announced, rows read and written) and only
the tables in progress, so their cost does not grow with the number of tables. A table is done
once the source has sent all its rows and every one of them is written.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from syncline.api.results import SourceSyncResult

if TYPE_CHECKING:  # rich is imported only when a terminal view is drawn
    from rich.console import Console, Group
    from rich.live import Live
    from rich.table import Table as RichTable
    from rich.text import Text

log = logging.getLogger("syncline.progress")

# Tables in progress shown on a terminal; the rest are counted.
SHOWN_TABLES = 10


class _Table:
    __slots__ = ("finished", "read", "written")

    def __init__(self) -> None:
        self.read = self.written = 0
        self.finished = False


class SyncCounts:
    """Totals and the tables in progress; updated by the sync, read by a view (any thread)."""

    def __init__(self, source: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.clock = clock
        self.start = clock()
        self.lock = threading.Lock()
        self.tables = 0
        self.done = 0
        self.rows = 0
        self.written = 0
        self.errors = 0
        self.active: dict[str, _Table] = {}  # tables with rows read and not yet done
        self._finished: set[str] = set()  # tables the source has sent all rows of
        self.ended = ""  # "done" or "failed" once the source's sync is over

    def table_started(self, table: str) -> None:
        with self.lock:
            self.tables += 1

    def add_rows(self, table: str, count: int) -> None:
        with self.lock:
            self.rows += count
            self.active.setdefault(table, _Table()).read += count

    def add_written(self, table: str, count: int) -> None:
        with self.lock:
            self.written += count
            state = self.active.get(table)
            if state is not None:
                state.written += count
                self._done_if_complete(table, state)

    def add_error(self) -> None:
        with self.lock:
            self.errors += 1

    def table_finished(self, table: str) -> None:
        with self.lock:
            if table in self._finished:
                return
            self._finished.add(table)
            state = self.active.get(table)
            if state is None:
                self.done += 1  # no rows at all
                return
            state.finished = True
            self._done_if_complete(table, state)

    def _done_if_complete(self, table: str, state: _Table) -> None:
        if state.finished and state.written >= state.read:
            del self.active[table]
            self.done += 1

    def phase(self) -> str:
        if self.ended:
            return self.ended
        if not self.tables:  # (shards on other processes report rows only)
            return "syncing" if self.rows else "starting"
        if len(self._finished) < self.tables:
            return "syncing"
        return "writing" if self.written < self.rows else "finishing"

    def elapsed(self) -> float:
        return self.clock() - self.start

    def figures(self) -> dict[str, object]:
        """The totals, as the periodic line and the log show them."""
        with self.lock:
            elapsed = self.elapsed()
            return {
                "source": self.source,
                "phase": self.phase(),
                "tables": f"{self.done}/{self.tables}",
                "rows": self.rows,
                "rows_written": self.written,
                "rows_per_s": round(self.rows / elapsed) if elapsed > 0 else 0,
                "errors": self.errors,
                "active": len(self.active),
            }

    def in_progress(self) -> int:
        return len(self.active)

    def shown(self, limit: int) -> list[tuple[str, int, int]]:
        """The first ``limit`` tables in progress (longest running first)."""
        with self.lock:
            return [(n, s.read, s.written) for n, s in itertools.islice(self.active.items(), limit)]


class _Base:
    """The engine's progress callbacks, kept in a SyncCounts."""

    def __init__(self) -> None:
        self.counts = SyncCounts()

    def table_started(self, table: str) -> None:
        self.counts.table_started(table)

    def rows(self, table: str, count: int) -> None:
        self.counts.add_rows(table, count)

    def rows_written(self, table: str, count: int) -> None:
        self.counts.add_written(table, count)

    def table_error(self, table: str, message: str) -> None:
        self.counts.add_error()

    def table_finished(self, table: str) -> None:
        self.counts.table_finished(table)


class TerminalProgress(_Base):
    """A live view refreshed a few times a second: totals first, then the tables in progress."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self.title = ""
        self.live: Live | None = None

    def render(self) -> Group:
        from rich.console import Group
        from rich.table import Table as RichTable
        from rich.text import Text

        c = self.counts
        f = c.figures()
        head = Text(
            f"Syncing {self.title}: {f['phase']}, tables {f['tables']}, "
            f"{c.rows:,} rows read, {c.written:,} written, {f['rows_per_s']:,} rows/s, "
            f"{f['errors']} errors, {c.elapsed():.0f}s"
        )
        shown = c.shown(SHOWN_TABLES)
        if not shown:
            return Group(head)
        grid = RichTable(box=None, pad_edge=False)
        grid.add_column("table")
        grid.add_column("read", justify="right")
        grid.add_column("written", justify="right")
        for name, read, written in shown:
            grid.add_row(name, f"{read:,}", f"{written:,}")
        parts: list[Text | RichTable] = [head, grid]
        more = c.in_progress() - len(shown)
        if more > 0:
            parts.append(Text(f"... and {more} more tables in progress"))
        return Group(*parts)

    def source_started(self, source: str, destinations: list[str]) -> None:
        self.title = f"{source} -> {', '.join(destinations)}"
        self.counts = SyncCounts(source)
        from rich.live import Live

        # Rendered on the refresh thread only: a callback costs a counter update, no drawing.
        self.live = Live(
            get_renderable=self.render, console=self.console, refresh_per_second=4, transient=True
        )
        self.live.start()

    def source_finished(self, result: SourceSyncResult) -> None:
        self.close()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


class LogProgress(_Base):
    """A line every ``interval`` seconds from its own thread, so long writes show too; for
    pipes, CI and log collectors. One last line when a source ends."""

    def __init__(self, interval: float = 5.0, stream: TextIO | None = None) -> None:
        super().__init__()
        self.interval = interval
        self.stream = stream or sys.stderr
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def report(self) -> None:
        figures = self.counts.figures()
        log.info("progress", extra=figures)
        text = " ".join(f"{k}={v}" for k, v in figures.items())
        print(f"progress {text}", file=self.stream, flush=True)

    def _every_interval(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self.report()

    def source_started(self, source: str, destinations: list[str]) -> None:
        self._halt()
        self.counts = SyncCounts(source)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._every_interval, args=(self._stop,), name="progress", daemon=True
        )
        self._thread.start()

    def source_finished(self, result: SourceSyncResult) -> None:
        if self._thread is not None:  # it started: its last figures
            self._halt()
            self.counts.ended = "failed" if result.error else "done"
            self.report()

    def close(self) -> None:
        """Stop the periodic lines (where no source_finished comes, e.g. sharded runs)."""
        self._halt()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
