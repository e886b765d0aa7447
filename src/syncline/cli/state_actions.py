"""``syncline state ...``: the flags of each action and how its result is shown."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from syncline import api
from syncline.plugin.errors import SynclineError

if TYPE_CHECKING:  # rich is imported only when a table is shown
    from rich.table import Table as RichTable

_NO_BACKEND = "no backend_options, cursors are not kept"


def add_state_actions(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    command: Callable[
        [argparse._SubParsersAction[argparse.ArgumentParser], str, str], argparse.ArgumentParser
    ],
) -> None:
    """``command(sub, name, help)`` makes a subcommand parser with the global flags."""
    verify = command(
        sub, "verify", "Check that each destination still holds the rows every cursor covers."
    )
    verify.add_argument("paths", nargs="+", metavar="PATH")
    verify.add_argument("--source", action="append", default=[], help="only this source")
    add_history_actions(sub, command)


def add_history_actions(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    command: Callable[
        [argparse._SubParsersAction[argparse.ArgumentParser], str, str], argparse.ArgumentParser
    ],
) -> None:
    history = command(sub, "history", "List earlier values of each cursor with their times.")
    history.add_argument("paths", nargs="+", metavar="PATH")
    history.add_argument("--table", action="append", default=[], help="only cursors of this table")
    history.add_argument("--source", action="append", default=[], help="only this source")
    rollback = command(
        sub,
        "rollback",
        "Set cursors back to an earlier version or time; the next sync replays from there.",
    )
    rollback.add_argument("paths", nargs="+", metavar="PATH")
    rollback.add_argument(
        "--to",
        required=True,
        metavar="VERSION|TIME",
        help="a version number (see state history) or a time such as 2026-01-31T12:00:00Z",
    )
    rollback.add_argument("--table", action="append", default=[], help="only cursors of this table")
    rollback.add_argument("--source", action="append", default=[], help="only this source")


def _grid(grid: RichTable) -> None:
    from rich.console import Console

    Console(file=sys.stdout, highlight=False, width=200).print(grid)


def _new_grid(title: str | None = None) -> RichTable:
    from rich.table import Table as RichTable

    return RichTable(title=title)


def show(states: list[api.SourceState]) -> None:
    for s in states:
        if s.table is None:
            print(f"source {s.source}: {_NO_BACKEND}")
            continue
        print(f"source {s.source}: state table {s.table}")
        grid = _new_grid()
        grid.add_column("key")
        grid.add_column("value")
        for k, v in s.cursors.items():
            grid.add_row(k, v)
        _grid(grid)


def verify(results: list[api.SourceChecks]) -> None:
    """One line per cursor and destination; raises when any does not match."""
    for r in results:
        if r.table is None:
            print(f"source {r.source}: {_NO_BACKEND}")
            continue
        if not r.checks:
            print(f"source {r.source}: no cursors")
        for c in r.checks:
            where = f"{c.table} on {c.destination}" if c.destination else "-"
            verdict = "ok" if c.ok else f"MISMATCH: {c.problem}"
            print(f"source {r.source}: {c.key} = {c.value}: {where}: {verdict}")
    mismatches = sum(r.mismatches for r in results)
    if mismatches:
        raise SynclineError(f"{mismatches} cursor(s) do not match their destination tables")


def history(results: list[api.SourceHistory]) -> None:
    for r in results:
        if r.table is None:
            print(f"source {r.source}: {_NO_BACKEND}")
            continue
        if r.versions is None:
            print(f"source {r.source}: this backend keeps no history")
            continue
        grid = _new_grid(title=f"source {r.source}")
        for col in ("key", "version", "value", "committed at"):
            grid.add_column(col)
        for v in r.versions:
            value = "(cleared)" if v.value is None else v.value
            grid.add_row(v.key, str(v.version), value, v.committed_at.isoformat())
        _grid(grid)


def parse_target(text: str) -> int | datetime:
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise SynclineError(
            f"--to {text}: expected a version number or a time such as 2026-01-31T12:00:00Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def rollback(paths: list[str], to_text: str, sources: list[str], tables: list[str]) -> None:
    to = parse_target(to_text)
    for r in api.rollback_state(paths, to, sources=sources, tables=tables):
        if r.table is None:
            print(f"source {r.source}: {_NO_BACKEND}")
            continue
        for key in r.unchanged:
            print(f"source {r.source}: {key} has no version {to} in its history; unchanged")
        for key, value in r.changes.items():
            shown = "(cleared: the next sync is full)" if value is None else value
            print(f"source {r.source}: {key} set back to {shown}")
        if not r.changes:
            print(f"source {r.source}: no cursor changed")
