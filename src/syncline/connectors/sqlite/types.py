"""Arrow <-> SQLite: column types, and vectorised conversion of values to what SQLite stores.

Timestamps are stored as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (fixed width, so text order is
time order), UUIDs as canonical text, JSON as text, lists of numbers and other nested values as
JSON text, dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from syncline.schema.types import JSON, UUID, JSONType, UUIDType


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


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DASHES = (8, 13, 18, 23)


def uuid_to_text(arr: pa.Array) -> pa.Array:
    storage = arr.storage if isinstance(arr, pa.ExtensionArray) else arr
    n = len(storage)
    if n == 0:
        return pa.array([], pa.utf8())
    filled = storage.fill_null(b"\x00" * 16) if storage.null_count else storage
    raw = np.frombuffer(
        filled.buffers()[1], dtype=np.uint8, count=16 * n, offset=filled.offset * 16
    )
    raw = raw.reshape(n, 16)
    hexes = np.empty((n, 32), dtype=np.uint8)
    hexes[:, 0::2] = _HEX[raw >> 4]
    hexes[:, 1::2] = _HEX[raw & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    src = 0
    for start, end in ((0, 8), (9, 13), (14, 18), (19, 23), (24, 36)):
        width = end - start
        out[:, start:end] = hexes[:, src : src + width]
        src += width
    offsets = pa.py_buffer(np.arange(0, 36 * (n + 1), 36, dtype=np.int32).tobytes())
    text = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(out.tobytes()))
    if storage.null_count:
        text = pc.if_else(pc.is_valid(storage), text, pa.scalar(None, pa.utf8()))
    return text


def text_to_uuid(arr: pa.Array) -> pa.Array:
    import uuid

    values = [None if v is None else uuid.UUID(v).bytes for v in arr.to_pylist()]
    return pa.ExtensionArray.from_storage(UUID, pa.array(values, pa.binary(16)))


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
        return arr.cast(pa.timestamp("us")).cast(pa.utf8())
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
        joined = pc.binary_join(arr.cast(pa.list_(pa.utf8())), ",")
        return pc.binary_join_element_wise("[", joined, "]", "")
    return pa.array(
        [None if v is None else json.dumps(v, default=str) for v in arr.to_pylist()], pa.utf8()
    )


def _is_numeric_list(t: pa.DataType) -> bool:
    return bool(
        (pa.types.is_list(t) or pa.types.is_large_list(t))
        and (pa.types.is_integer(t.value_type) or pa.types.is_floating(t.value_type))
    )


def record_to_storage(record: pa.RecordBatch) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [to_storage(c) for c in record.columns], names=record.schema.names
    )


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
        parsed = arr.cast(pa.utf8()).cast(pa.timestamp("us"))
        return parsed.cast(pa.timestamp("us", tz="UTC")).cast(t) if t.tz else parsed.cast(t)
    if (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_struct(t)
        or pa.types.is_map(t)
    ):
        values: list[Any] = [None if v is None else json.loads(v) for v in arr.to_pylist()]
        return pa.array(values, t)
    if pa.types.is_boolean(t):
        return pc.not_equal(arr, 0) if not pa.types.is_boolean(arr.type) else arr
    return arr.cast(t)
