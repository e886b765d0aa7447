"""Progress for many tables: totals always, only the tables in progress, lines without a
terminal at a steady pace, and a cost that does not grow with the number of tables."""

from __future__ import annotations

import io

from conftest import config, source_doc, sqlite_doc, wait_for
from rich.console import Console

from syncline.api.results import SourceSyncResult, source_result
from syncline.cli.progress import SHOWN_TABLES, LogProgress, SyncCounts, TerminalProgress
from syncline.engine.summary import SourceResult


def _result(failed: str | None = None) -> SourceSyncResult:
    from datetime import UTC, datetime

    return source_result(
        SourceResult("pg", "cloudquery/postgresql", [], "id", datetime.now(UTC), failed=failed)
    )


def _lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line.startswith("progress ")]


def test_counts_follow_tables_from_announced_to_written():
    clock = [100.0]
    counts = SyncCounts("pg", clock=lambda: clock[0])
    assert counts.phase() == "starting"
    for i in range(1000):
        counts.table_started(f"t{i:04d}")
    for i in range(1000):
        counts.add_rows(f"t{i:04d}", 20)
    for i in range(600):
        counts.table_finished(f"t{i:04d}")
    for i in range(500):
        counts.add_written(f"t{i:04d}", 20)
    clock[0] = 110.0
    assert counts.figures() == {
        "source": "pg",
        "phase": "syncing",
        "tables": "500/1000",
        "rows": 20000,
        "rows_written": 10000,
        "rows_per_s": 2000,
        "errors": 0,
        "active": 500,
    }
    # tables 500-599 are finished by the source but not written: longest in progress first
    assert counts.shown(3) == [("t0500", 20, 0), ("t0501", 20, 0), ("t0502", 20, 0)]
    for i in range(600, 1000):
        counts.table_finished(f"t{i:04d}")
    assert counts.phase() == "writing"
    for i in range(500, 1000):
        counts.add_written(f"t{i:04d}", 20)
    assert counts.phase() == "finishing"
    assert counts.figures()["tables"] == "1000/1000"
    assert counts.in_progress() == 0


def test_a_table_without_rows_is_done_when_the_source_ends_it():
    counts = SyncCounts("pg")
    counts.table_started("empty")
    counts.table_finished("empty")
    counts.table_finished("empty")  # counted once
    assert counts.figures()["tables"] == "1/1"


def test_lines_keep_coming_while_no_rows_arrive_and_a_last_one_at_the_end():
    stream = io.StringIO()
    progress = LogProgress(interval=0.01, stream=stream)
    progress.source_started("pg", ["sqlite"])
    progress.table_started("orders")
    progress.rows("orders", 7)
    progress.table_finished("orders")
    # nothing more arrives (a long write): lines still come, each with the totals
    lines = wait_for(lambda: _lines(stream)[2:], "three periodic progress lines")
    assert "phase=writing tables=0/1 rows=7 rows_written=0" in lines[-1]
    progress.rows_written("orders", 7)
    progress.source_finished(_result())
    last = _lines(stream)[-1]
    assert last.startswith("progress source=pg phase=done tables=1/1 rows=7 rows_written=7 ")
    assert last.endswith(" errors=0 active=0")
    count = len(_lines(stream))
    progress.source_finished(_result())  # the thread is gone: no more lines
    assert len(_lines(stream)) == count


def test_the_terminal_view_shows_totals_and_a_bounded_number_of_tables():
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    progress = TerminalProgress(console)
    progress.title = "pg -> duckdb"
    for i in range(1000):
        progress.table_started(f"t{i:04d}")
        progress.rows(f"t{i:04d}", 5)
    progress.rows_written("t0000", 5)
    progress.table_finished("t0000")
    with console.capture() as captured:
        console.print(progress.render())
    lines = captured.get().splitlines()
    assert lines[0].startswith("Syncing pg -> duckdb: syncing, tables 1/1000, 5,000 rows read, 5")
    assert lines[-1] == "... and 989 more tables in progress"
    assert lines[1].split() == ["table", "read", "written"]
    shown = [line.split()[0] for line in lines[2:-1]]
    assert shown == [f"t{i:04d}" for i in range(1, SHOWN_TABLES + 1)]


def test_a_sync_without_a_terminal_ends_with_its_totals(write, run_cli):
    write(
        "a.yml",
        config(
            source_doc(
                tables='["test_some_table"]',
                extra="skip_dependent_tables: false",
                spec="num_rows: 30\nnum_sub_rows: 3",
            ),
            sqlite_doc(),
        ),
    )
    result = run_cli("sync", "a.yml")
    assert result.code == 0, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("progress ")]
    assert lines[-1].startswith(
        "progress source=test phase=done tables=2/2 rows=120 rows_written=120 "
    )
