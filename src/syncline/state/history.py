"""Earlier values of each cursor, in ``<state table>_history`` next to the state table.

On an upserting backend each key keeps its last ``SLOTS`` values (the row of version ``v``
lands in slot ``v % SLOTS``, replacing the value from ``SLOTS`` commits before); an
append-only backend keeps every value. The state table itself keeps CloudQuery's shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa

from syncline.schema.arrays import from_numpy, timestamp_scalar, utf8_array
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.table import Column, Table

SLOTS = 100


@dataclass(frozen=True)
class CursorVersion:
    key: str
    version: int
    value: str | None  # None: the cursor was cleared
    committed_at: datetime


def history_table(state_table: str, upsert: bool) -> Table:
    return Table(
        name=f"{state_table}_history",
        description="Earlier values of the cursors in " + state_table,
        columns=(
            Column("key", pa.utf8(), primary_key=upsert, not_null=upsert),
            Column("slot", pa.uint64(), primary_key=upsert, not_null=upsert),
            Column("value", pa.utf8()),
            Column("version", pa.uint64()),
            Column("committed_at", pa.timestamp("us", tz="UTC")),
        ),
    )


def history_record(
    table: Table, values: Mapping[str, str | None], versions: Mapping[str, int], at: datetime
) -> pa.RecordBatch:
    keys = sorted(values)
    numbers = np.array([versions[k] for k in keys], dtype=np.uint64)
    committed_at = timestamp_scalar(at, pa.timestamp("us", tz="UTC"))
    return pa.RecordBatch.from_arrays(
        [
            utf8_array(keys),
            from_numpy(numbers % SLOTS),
            utf8_array([values[k] for k in keys]),
            from_numpy(numbers),
            pa.repeat(committed_at, len(keys)),
        ],
        schema=to_arrow_schema(table),
    )


def versions_from(records: Iterable[pa.RecordBatch]) -> list[CursorVersion]:
    """Each key's versions, newest first (one row per key and version)."""
    found: dict[tuple[str, int], CursorVersion] = {}
    for record in records:
        for r in record.to_pylist():
            v = CursorVersion(r["key"], int(r["version"] or 0), r["value"], r["committed_at"])
            found[(v.key, v.version)] = v
    return sorted(found.values(), key=lambda v: (v.key, -v.version))
