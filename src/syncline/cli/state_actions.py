"""``syncline state verify|history|rollback``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table as RichTable

from syncline.config.models import SourceSpec
from syncline.engine.plugins import Plugins
from syncline.engine.verify import verify_cursors
from syncline.plugin.errors import SynclineError
from syncline.state.client import CursorStore, StateClient
from syncline.state.keys import key_of_table


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


def verify(spec: SourceSpec, client: CursorStore, plugins: Plugins) -> int:
    """Print one line per cursor and destination; the number of mismatches."""
    checks = verify_cursors(spec, client.items(), plugins)
    if not checks:
        print(f"source {spec.name}: no cursors")
    for c in checks:
        where = f"{c.table} on {c.destination}" if c.destination else "-"
        verdict = "ok" if c.ok else f"MISMATCH: {c.problem}"
        print(f"source {spec.name}: {c.key} = {c.value}: {where}: {verdict}")
    return sum(not c.ok for c in checks)


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


def _wanted(key: str, tables: list[str]) -> bool:
    return not tables or any(key_of_table(key, t) for t in tables)


def history(spec: SourceSpec, client: CursorStore, tables: list[str]) -> None:
    if not isinstance(client, StateClient):
        print(f"source {spec.name}: this backend keeps no history")
        return
    grid = RichTable(title=f"source {spec.name}")
    for col in ("key", "version", "value", "committed at"):
        grid.add_column(col)
    for v in client.history():
        if _wanted(v.key, tables):
            value = "(cleared)" if v.value is None else v.value
            grid.add_row(v.key, str(v.version), value, v.committed_at.isoformat())
    Console(file=sys.stdout, highlight=False, width=200).print(grid)


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


def rollback(spec: SourceSpec, client: CursorStore, to: int | datetime, tables: list[str]) -> None:
    if not isinstance(client, StateClient):
        raise SynclineError(f"source {spec.name}: this backend keeps no history to roll back")
    versions = [v for v in client.history() if _wanted(v.key, tables)]
    keys = sorted({v.key for v in versions} | {k for k in client.items() if _wanted(k, tables)})
    changes: dict[str, str | None] = {}
    for key in keys:
        mine = [v for v in versions if v.key == key]  # newest first
        if isinstance(to, int):
            match = next((v for v in mine if v.version == to), None)
            if match is None:
                print(f"source {spec.name}: {key} has no version {to} in its history; unchanged")
                continue
        else:
            match = next((v for v in mine if v.committed_at <= to), None)
        value = match.value if match is not None else None  # None: no cursor yet at that time
        if client.get(key) != value:
            changes[key] = value
    client.commit(changes)
    for key, value in changes.items():
        shown = "(cleared: the next sync is full)" if value is None else value
        print(f"source {spec.name}: {key} set back to {shown}")
    if not changes:
        print(f"source {spec.name}: no cursor changed")
