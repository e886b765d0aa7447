"""Cursor storage on top of any destination that can read (CloudQuery's key/value/version table).

The state client never decides when to commit: the engine calls ``commit`` only after the rows
before a checkpoint are durable on every destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

from syncline.plugin.contracts import DestinationPlugin, LatestReader
from syncline.plugin.errors import StateError
from syncline.state.codec import Commit, VersionedCursors, state_table
from syncline.state.history import CursorVersion, history_record, history_table, versions_from

__all__ = ["CursorStore", "StateClient", "state_table"]


class CursorStore(Protocol):
    """Where a source's cursors live: a destination's state table, or a remote gRPC backend."""

    def get(self, key: str) -> str | None: ...

    def items(self) -> dict[str, str]: ...

    def reload(self) -> None:
        """Read the cursors again: another process may have committed since."""
        ...

    def commit(self, values: Mapping[str, str | None]) -> None: ...

    def close(self) -> None: ...


class StateClient:
    def __init__(self, backend: DestinationPlugin, table_name: str, *, upsert: bool = True) -> None:
        self.backend = backend
        self.table = state_table(table_name, upsert)
        self.history_table = history_table(table_name, upsert)
        self.cursors = VersionedCursors()
        self.commits = 0

    def load(self) -> None:
        """Create the state table if needed and read every key (highest version wins).

        A backend that can reads only each key's latest row: an append-only state table
        gains a row per commit, and reading them all would grow with every sync.
        """
        try:
            self.backend.migrate_tables([self.table, self.history_table], False)
        except Exception as e:
            raise StateError(f"cannot read state table {self.table.name}: {e}") from e
        self.reload()

    def reload(self) -> None:
        try:
            if isinstance(self.backend, LatestReader):
                rows = self.backend.read_latest(self.table, ["key"], "version")
            else:
                rows = self.backend.read(self.table)
            self.cursors.load(rows)
        except Exception as e:
            raise StateError(f"cannot read state table {self.table.name}: {e}") from e

    def get(self, key: str) -> str | None:
        return self.cursors.get(key)

    def items(self) -> dict[str, str]:
        """Keys that hold a value."""
        return self.cursors.items()

    def commit(self, values: Mapping[str, str | None]) -> None:
        """Write the changed keys as one durable batch. ``None`` clears a key."""
        commit = self.cursors.changes(values)
        if commit is None:
            return
        try:
            record = self.backend.prepare(self.table, commit.record(self.table))
            self.backend.write_batch(self.table, [record])
        except Exception as e:
            raise StateError(f"cannot write state table {self.table.name}: {e}") from e
        self._record_history(commit)
        self.cursors.apply(commit)
        self.commits += 1

    def _record_history(self, commit: Commit) -> None:
        record = history_record(
            self.history_table, commit.values, commit.versions, datetime.now(UTC)
        )
        try:
            self.backend.write_batch(
                self.history_table, [self.backend.prepare(self.history_table, record)]
            )
        except Exception as e:
            raise StateError(f"cannot write state table {self.history_table.name}: {e}") from e

    def history(self) -> list[CursorVersion]:
        """Each key's earlier values with their commit times, newest first."""
        try:
            return versions_from(self.backend.read(self.history_table))
        except Exception as e:
            raise StateError(f"cannot read state table {self.history_table.name}: {e}") from e

    def close(self) -> None:
        self.backend.close()
