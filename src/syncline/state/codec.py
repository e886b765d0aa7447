"""Versioned cursors in CloudQuery's state table shape, whatever carries them.

Rows are ``key``, ``value``, ``version``. Reading keeps each key's highest version (ties: the
later row, null version = 0); a commit writes each changed key once with its version plus
one, so an append-only backend still resolves to the latest value. A local destination and a
remote gRPC plugin share this module and differ only in how rows travel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyarrow as pa

from syncline.schema.arrow import to_arrow_schema
from syncline.schema.table import Column, Table


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


@dataclass(frozen=True)
class Commit:
    """The rows of one commit: each changed key with its new value and version."""

    values: dict[str, str | None]
    versions: dict[str, int]
    # key -> the version this commit supersedes (keys that had a row before).
    superseded: dict[str, int]

    def record(self, table: Table) -> pa.RecordBatch:
        keys = sorted(self.values)
        return pa.RecordBatch.from_pydict(
            {
                "key": keys,
                "value": [self.values[k] for k in keys],
                "version": pa.array([self.versions[k] for k in keys], pa.uint64()),
            },
            schema=to_arrow_schema(table),
        )


class VersionedCursors:
    """Each key's latest value and version, as read from and committed to a state table."""

    def __init__(self) -> None:
        # key -> (value, version); a cleared key keeps its version with value None, so a
        # later value still outranks the cleared row on append-only backends.
        self._latest: dict[str, tuple[str | None, int]] = {}
        # key -> versions read that a higher version of the same key outranks.
        self.outranked: dict[str, list[int]] = {}

    def load(self, records: Iterable[pa.RecordBatch]) -> None:
        """Replace what is held by the rows of ``records`` (highest version wins)."""
        latest: dict[str, tuple[str | None, int]] = {}
        seen: dict[str, set[int]] = {}
        for record in records:
            for row in record.to_pylist():
                key, version = row["key"], row.get("version") or 0
                seen.setdefault(key, set()).add(version)
                old = latest.get(key)
                if old is None or version >= old[1]:
                    latest[key] = (row["value"], version)
        self._latest = latest
        self.outranked = {k: sorted(v - {latest[k][1]}) for k, v in seen.items() if len(v) > 1}

    def get(self, key: str) -> str | None:
        entry = self._latest.get(key)
        return entry[0] if entry else None

    def items(self) -> dict[str, str]:
        """Keys that hold a value, sorted."""
        return {k: v for k, (v, _) in sorted(self._latest.items()) if v is not None}

    def __len__(self) -> int:
        return len(self._latest)

    def changes(self, values: Mapping[str, str | None]) -> Commit | None:
        """The commit that writes ``values`` (``None`` clears a key); None when nothing changes."""
        changed = {k: v for k, v in values.items() if self.get(k) != v}
        if not changed:
            return None
        versions = {k: self._latest.get(k, (None, 0))[1] + 1 for k in changed}
        superseded = {k: self._latest[k][1] for k in changed if k in self._latest}
        return Commit(changed, versions, superseded)

    def apply(self, commit: Commit) -> None:
        """Hold a commit's values once its rows are durable."""
        for k, value in commit.values.items():
            self._latest[k] = (value, commit.versions[k])
