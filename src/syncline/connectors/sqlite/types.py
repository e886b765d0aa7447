"""Arrow <-> SQLite: column types, and vectorised conversion of values to what SQLite stores.

Timestamps are stored as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (fixed width, so text order is
time order), UUIDs as canonical text, JSON as text, lists of numbers and other nested values as
JSON text, dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from syncline.schema import temporal
from syncline.schema.types import JSON, JSONType, UUIDType
from syncline.writers.values import (
    json_float,
    json_text,
    map_columns,
    numeric_list_json,
    text_to_uuid,
    uuid_to_text,
)

# pyarrow.compute is imported where it is used: it is slow to load (about 0.1 s), and a sync
# that finds nothing new needs none of it.


def sqlite_type(t: pa.DataType) -> str:
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "blob"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "real"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return "text"


def to_storage(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One Arrow column -> a column of types SQLite binds natively."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if isinstance(t, UUIDType):
        return uuid_to_text(arr)
    if isinstance(t, JSONType):
        return arr.storage.cast(pa.utf8())
    if pa.types.is_timestamp(t):
        # Arrow stores instants as UTC; dropping the zone keeps them, and a naive
        # microsecond cast to text gives the fixed-width form (much faster than strftime).
        # Infinities become 'infinity' / '-infinity', which sort after and before every date.
        return temporal.to_text(arr.cast(pa.timestamp("us")))
    if pa.types.is_date32(t):
        return temporal.to_text(arr)
    if pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_decimal(t):
        return arr.cast(pa.utf8())
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.cast(pa.utf8())
    if pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return arr.cast(pa.binary())
    if pa.types.is_uint64(t):
        return arr.cast(pa.int64(), safe=False)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        return arr
    if pa.types.is_string(t) or pa.types.is_binary(t):
        return arr
    if _is_numeric_list(t):
        return numeric_list_json(arr)
    return json_text(arr)


def _is_numeric_list(t: pa.DataType) -> bool:
    return bool(
        (pa.types.is_list(t) or pa.types.is_large_list(t))
        and (pa.types.is_integer(t.value_type) or pa.types.is_floating(t.value_type))
    )


def record_to_storage(record: pa.RecordBatch) -> pa.RecordBatch:
    return map_columns(record, to_storage)


def from_storage(arr: pa.Array, t: pa.DataType) -> pa.Array:
    """A column read back from SQLite -> the table's Arrow type."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == pa.null():
        return pa.nulls(len(arr), t)
    if isinstance(t, UUIDType):
        return text_to_uuid(arr.cast(pa.utf8()))
    if isinstance(t, JSONType):
        return pa.ExtensionArray.from_storage(JSON, arr.cast(pa.utf8()).cast(pa.binary()))
    if pa.types.is_timestamp(t):
        parsed = temporal.from_text(arr, pa.timestamp("us"))
        return parsed.cast(pa.timestamp("us", tz="UTC")).cast(t) if t.tz else parsed.cast(t)
    if pa.types.is_date32(t):
        return temporal.from_text(arr, t)
    if _is_numeric_list(t) and pa.types.is_floating(t.value_type):
        return pa.array(
            [None if v is None else json_float(json.loads(v)) for v in arr.to_pylist()], t
        )
    if (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_struct(t)
        or pa.types.is_map(t)
    ):
        values: list[Any] = [None if v is None else json.loads(v) for v in arr.to_pylist()]
        return pa.array(values, t)
    if pa.types.is_boolean(t) and not pa.types.is_boolean(arr.type):
        import pyarrow.compute as pc

        return pc.not_equal(arr, 0)
    if pa.types.is_uint64(t) and pa.types.is_int64(arr.type):
        return arr.view(t)  # to_storage wrapped 2**63 and above into the negatives: unwrap
    return arr if arr.type == t else arr.cast(t)
