"""Cursor storage on top of any destination that can read (CloudQuery's key/value/version table).

The state client never decides when to commit: the engine calls ``commit`` only after the rows
before a checkpoint are durable on every destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

import pyarrow as pa

from syncline.plugin.contracts import DestinationPlugin
from syncline.plugin.errors import StateError
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.table import Column, Table
from syncline.state.history import CursorVersion, history_record, history_table, versions_from


def state_table(name: str, upsert: bool = True) -> Table:
    """``key`` (primary key on upserting backends), ``value``, ``version``."""
    return Table(
        name=name,
        description="Cursors of incremental tables",
        columns=(
            Column("key", pa.utf8(), primary_key=upsert, not_null=upsert),
            Column("value", pa.utf8()),
            Column("version", pa.uint64()),
        ),
    )


class CursorStore(Protocol):
    """Where a source's cursors live: a destination's state table, or a remote gRPC backend."""

    def get(self, key: str) -> str | None: ...

    def items(self) -> dict[str, str]: ...

    def commit(self, values: Mapping[str, str | None]) -> None: ...

    def close(self) -> None: ...


class StateClient:
    def __init__(self, backend: DestinationPlugin, table_name: str, *, upsert: bool = True) -> None:
        self.backend = backend
        self.table = state_table(table_name, upsert)
        self.history_table = history_table(table_name, upsert)
        # key -> (value, version); a cleared key keeps its version with value None, so a
        # later value still outranks the cleared row on append-only backends.
        self._values: dict[str, tuple[str | None, int]] = {}
        self.commits = 0

    def load(self) -> None:
        """Create the state table if needed and read every key (highest version wins)."""
        try:
            self.backend.migrate_tables([self.table, self.history_table], False)
            rows: dict[str, tuple[str | None, int]] = {}
            for record in self.backend.read(self.table):
                for r in record.to_pylist():
                    version = r["version"] or 0
                    old = rows.get(r["key"])
                    if old is None or version >= old[1]:
                        rows[r["key"]] = (r["value"], version)
            self._values = rows
        except Exception as e:
            raise StateError(f"cannot read state table {self.table.name}: {e}") from e

    def get(self, key: str) -> str | None:
        entry = self._values.get(key)
        return entry[0] if entry else None

    def items(self) -> dict[str, str]:
        """Keys that hold a value."""
        return {k: v for k, (v, _) in sorted(self._values.items()) if v is not None}

    def commit(self, values: Mapping[str, str | None]) -> None:
        """Write the changed keys as one durable batch. ``None`` clears a key."""
        changed = {k: v for k, v in values.items() if self.get(k) != v}
        if not changed:
            return
        keys = sorted(changed)
        versions = [self._values.get(k, (None, 0))[1] + 1 for k in keys]
        record = pa.RecordBatch.from_pydict(
            {
                "key": keys,
                "value": [changed[k] for k in keys],
                "version": pa.array(versions, pa.uint64()),
            },
            schema=to_arrow_schema(self.table),
        )
        try:
            self.backend.write_batch(self.table, [self.backend.prepare(self.table, record)])
        except Exception as e:
            raise StateError(f"cannot write state table {self.table.name}: {e}") from e
        self._record_history(changed, dict(zip(keys, versions, strict=True)))
        for k, ver in zip(keys, versions, strict=True):
            self._values[k] = (changed[k], ver)
        self.commits += 1

    def _record_history(self, values: Mapping[str, str | None], versions: dict[str, int]) -> None:
        record = history_record(self.history_table, values, versions, datetime.now(UTC))
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
