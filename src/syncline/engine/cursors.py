"""Cursors the engine can trust: the guard against tables that lost their rows, and the
view a source gets during a full refresh.

A cursor says "every row before me is in the destination". When a table is dropped,
recreated, missing or emptied, that is no longer true: its cursors are reset before the
source reads them, so the table is synced in full.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from syncline.schema.table import Table
from syncline.state.client import CursorStore
from syncline.state.keys import belongs_to, keys_of
from syncline.writers.batch import BatchWriter

log = logging.getLogger("syncline.engine")


def holds_rows(plugin: Any, table: Table) -> bool:
    """Whether the destination's table exists and holds at least one row."""
    probe = getattr(plugin, "has_rows", None)
    if callable(probe):
        return bool(probe(table))
    return any(batch.num_rows for batch in plugin.read(table))  # e.g. an external plugin


@dataclass(frozen=True)
class GuardTarget:
    """One destination as the guard sees it."""

    name: str
    writer: BatchWriter
    table_of: Callable[[Table], Table]  # the destination's shape of a source table
    forced: bool


def guard_cursors(
    state: CursorStore, tables: Iterable[Table], targets: list[GuardTarget], migrate: bool
) -> list[str]:
    """Migrate each incremental table that has cursors (so a forced migration happens now),
    then reset its cursors if any destination holds none of its rows. Returns those tables.

    The cursors are read again once the tables are checked. Another process may have reset
    them and written rows since this one read its state (a shard run by hand, ``--shard n/T``,
    guards the same table's cursors itself): its rows make the table look synced, and only
    its reset, read after them, tells this process to start over."""
    cursors = state.items()
    guarded = [t for t in tables if t.is_incremental and keys_of(cursors, t.name)]
    if not guarded:
        return []
    emptied: dict[str, str] = {}  # table: a destination that holds none of its rows
    for table in guarded:
        for target in targets:
            out = target.table_of(table)
            if migrate:
                target.writer.migrate([out], target.forced)
            if not holds_rows(target.writer.plugin, out):
                emptied[table.name] = target.name
                break
    state.reload()
    cursors = state.items()
    reset: list[str] = []
    for name, target_name in emptied.items():
        keys = keys_of(cursors, name)
        if not keys:  # reset by another process meanwhile
            continue
        log.warning(
            "table %s: destination %s holds none of its rows (dropped, recreated, "
            "missing or emptied): resetting cursor(s) %s and syncing the table in full",
            name,
            target_name,
            ", ".join(keys),
        )
        state.commit(dict.fromkeys(keys))
        reset.append(name)
    return reset


class RefreshView:
    """The state a source sees during ``--full-refresh``: the refreshed tables' cursors are
    hidden, and their new cursors are held back until the run ends cleanly, so an
    interrupted refresh leaves the old cursors in place."""

    def __init__(self, state: CursorStore, tables: set[str]) -> None:
        self.state = state
        self.tables = tables
        self._held: dict[str, str] = {}

    def refreshes(self, key: str) -> bool:
        return any(belongs_to(key, t) for t in self.tables)

    def get(self, key: str) -> str | None:
        return None if self.refreshes(key) else self.state.get(key)

    def items(self) -> dict[str, str]:
        return {k: v for k, v in self.state.items().items() if not self.refreshes(k)}

    def hold(self, ready: Mapping[str, str]) -> dict[str, str]:
        """Keep the refreshed tables' cursors back; return the rest, to commit now."""
        now: dict[str, str] = {}
        for key, value in ready.items():
            if self.refreshes(key):
                self._held[key] = value
            else:
                now[key] = value
        return now

    def release(self) -> dict[str, str | None]:
        """At the end of a clean run: the new cursors, and a reset for every old cursor of a
        refreshed table that this run did not set again."""
        stale = {k: None for k in self.state.items() if self.refreshes(k) and k not in self._held}
        out: dict[str, str | None] = {**stale, **self._held}
        self._held = {}
        return out


def prepare_cursors(
    selected: list[Table],
    state: CursorStore,
    targets: list[GuardTarget],
    *,
    migrate: bool,
    full_refresh: tuple[str, ...] | None,
    guard: bool = True,
) -> RefreshView | None:
    """Before the source reads any cursor: guard the selected tables' cursors (unless
    ``guard`` is False: guarded already, e.g. before the shards of a sharded run) and, with
    ``full_refresh`` (table names; empty for every incremental table), hide the cursors of
    the tables to refresh."""
    incremental = {t.name for t in selected if t.is_incremental}
    refreshed: set[str] = set()
    if full_refresh is not None:
        refreshed = incremental & set(full_refresh) if full_refresh else incremental
    if guard:
        guard_cursors(state, [t for t in selected if t.name not in refreshed], targets, migrate)
    if full_refresh is None:
        return None
    if refreshed:
        log.info("full refresh of %s: their cursors are ignored", ", ".join(sorted(refreshed)))
    return RefreshView(state, refreshed)
