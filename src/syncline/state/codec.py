"""Versioned cursors in CloudQuery's state table shape, whatever carries them.

Rows are ``key``, ``value``, ``version``. Reading keeps each key's highest version (ties: the
later row, null version = 0); a commit writes each changed key once with its version plus
one, so an append-only backend still resolves to the latest value. A local destination and a
remote gRPC plugin share this module and differ only in how rows travel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from syncline.schema.arrays import from_numpy, utf8_array
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

    def record(self, table: Table) -> pa.RecordBatch:
        keys = sorted(self.values)
        versions = np.array([self.versions[k] for k in keys], dtype=np.uint64)
        return pa.RecordBatch.from_arrays(
            [utf8_array(keys), utf8_array([self.values[k] for k in keys]), from_numpy(versions)],
            schema=to_arrow_schema(table),
        )


class VersionedCursors:
    """Each key's latest value and version, as read from and committed to a state table."""

    def __init__(self) -> None:
        # key -> (value, version); a cleared key keeps its version with value None, so a
        # later value still outranks the cleared row on append-only backends.
        self._latest: dict[str, tuple[str | None, int]] = {}

    def load(self, records: Iterable[pa.RecordBatch]) -> None:
        """Replace what is held by the rows of ``records`` (highest version wins)."""
        parts = [_normalised(r) for r in records if r.num_rows]
        rows = pa.Table.from_batches(parts) if parts else None
        if rows is None:
            self._latest = {}
        elif rows.num_rows <= RANK_IN_PYTHON:
            self._latest = _latest_in_python(rows)
        else:
            self._latest = _latest_in_arrow(rows)

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
        return Commit(changed, versions)

    def apply(self, commit: Commit) -> None:
        """Hold a commit's values once its rows are durable."""
        for k, value in commit.values.items():
            self._latest[k] = (value, commit.versions[k])


# A state table read latest-per-key holds a row per key: ranked in Python, it costs less than
# loading Arrow's compute kernels (a tenth of a second of a sync that finds nothing new).
RANK_IN_PYTHON = 10_000


def _latest_in_python(rows: pa.Table) -> dict[str, tuple[str | None, int]]:
    best: dict[str, tuple[str | None, int]] = {}
    for r in rows.to_pylist():
        version = int(r["version"] or 0)
        held = best.get(r["key"])
        if held is None or version >= held[1]:  # a tie goes to the later row
            best[r["key"]] = (r["value"], version)
    return best


def _latest_in_arrow(rows: pa.Table) -> dict[str, tuple[str | None, int]]:
    """Rows ranked in Arrow and only each key's winner made a Python value: an append-only
    table of many versions costs its Arrow size, not a dict per row."""
    import pyarrow.compute as pc

    n = rows.num_rows
    ranked = pa.table(
        {
            "key": rows.column("key"),
            "version": rows.column("version").fill_null(_zero_version()),
            "position": _positions(n),
        }
    )
    # Each key's rows together, best first: highest version, then the later row.
    order = pc.sort_indices(
        ranked,
        sort_keys=[("key", "ascending"), ("version", "descending"), ("position", "descending")],
    )
    ranked = ranked.take(order)
    # The first row of each key's run wins. (Not group_by: it loads Arrow's query engine,
    # and with it pyarrow.dataset and pandas, slow to import.)
    keys = ranked.column("key")
    new_key = pc.fill_null(pc.not_equal(keys.slice(1), keys.slice(0, n - 1)), _true())
    first = pa.concat_arrays([_true_array(), *new_key.chunks])
    latest: dict[str, tuple[str | None, int]] = {}
    for r in rows.take(ranked.column("position").filter(first)).to_pylist():
        latest.setdefault(r["key"], (r["value"], int(r["version"] or 0)))
    return latest


_ROWS = pa.schema([("key", pa.utf8()), ("value", pa.utf8()), ("version", pa.uint64())])


def _zero_version() -> pa.Scalar:
    return from_numpy(np.zeros(1, dtype=np.uint64))[0]


def _positions(n: int) -> pa.Array:
    return from_numpy(np.arange(n, dtype=np.int64))


def _true_array() -> pa.Array:
    return from_numpy(np.ones(1, dtype=np.bool_))


def _true() -> pa.Scalar:
    return _true_array()[0]


def _normalised(record: pa.RecordBatch) -> pa.RecordBatch:
    """``key``, ``value``, ``version`` (null where a reader sends no version)."""
    n = record.num_rows
    arrays = [
        _as(record.column(f.name), f.type) if f.name in record.schema.names else pa.nulls(n, f.type)
        for f in _ROWS
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=_ROWS)


def _as(column: pa.Array, type_: pa.DataType) -> pa.Array:
    return column if column.type == type_ else column.cast(type_)
