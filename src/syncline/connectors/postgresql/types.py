"""Arrow <-> PostgreSQL (CloudQuery's mapping) and the binary-COPY form of each value.

Rows are loaded with binary COPY (ADBC). For uuid and jsonb the Arrow value is shaped into
PostgreSQL's binary wire format: 16 raw bytes for uuid, a version byte 1 plus the text for
jsonb.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from syncline.schema.arrays import binary_scalar, from_numpy
from syncline.schema.types import JSON, JSONType, UUIDType
from syncline.writers.values import json_text, text_to_uuid

_SIMPLE = {
    pa.bool_(): "boolean",
    pa.int8(): "smallint",
    pa.int16(): "smallint",
    pa.uint8(): "smallint",
    pa.int32(): "integer",
    pa.uint16(): "integer",
    pa.int64(): "bigint",
    pa.uint32(): "bigint",
    pa.uint64(): "numeric(20,0)",
    pa.float16(): "real",
    pa.float32(): "real",
    pa.float64(): "double precision",
    pa.utf8(): "text",
    pa.large_utf8(): "text",
    pa.binary(): "bytea",
    pa.large_binary(): "bytea",
    pa.date32(): "date",
    pa.date64(): "date",
}
# The Arrow type each PostgreSQL type is bound from in binary COPY.
_BIND = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "numeric(20,0)": pa.decimal128(20, 0),
    "date": pa.date32(),
}


# jsonb's binary COPY form: a version byte, then the text.
_JSONB_VERSION = binary_scalar(b"\x01")
_EMPTY = binary_scalar(b"")


def pg_type(t: pa.DataType) -> str:
    if isinstance(t, UUIDType):
        return "uuid"
    if isinstance(t, JSONType):
        return "jsonb"
    if t in _SIMPLE:
        return _SIMPLE[t]
    if pa.types.is_timestamp(t):
        return "timestamp without time zone"
    if pa.types.is_time(t):
        return "time without time zone"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision},{t.scale})"
    if pa.types.is_fixed_size_binary(t):
        return "bytea"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        inner = pg_type(t.value_type)
        return "text[]" if inner.endswith("[]") else f"{inner}[]"
    return "text"


def to_copy(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One Arrow column -> the Arrow type whose binary COPY form its PostgreSQL column reads."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if isinstance(t, UUIDType):
        return arr.storage
    if isinstance(t, JSONType):
        return pc.binary_join_element_wise(_JSONB_VERSION, arr.storage, _EMPTY)
    if pa.types.is_timestamp(t):
        return arr.cast(pa.timestamp("us"))
    if pa.types.is_fixed_size_binary(t):
        return arr.cast(pa.binary())
    target = pg_type(t)
    if target in _BIND:
        return arr.cast(_BIND[target])
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        inner = to_copy(arr.flatten())
        if pg_type(t.value_type).endswith("[]"):
            return json_text(arr)
        return pa.ListArray.from_arrays(
            arr.offsets if not pa.types.is_fixed_size_list(t) else _fixed_offsets(arr),
            inner,
            mask=arr.is_null() if arr.null_count else None,
        )
    if target == "text" and not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return json_text(arr)
    if pa.types.is_large_string(t):
        return arr.cast(pa.utf8())
    return arr


def _fixed_offsets(arr: pa.Array) -> pa.Array:
    size = arr.type.list_size
    return from_numpy(np.arange(0, (len(arr) + 1) * size, size, dtype=np.int32))


def select_expr(quoted: str, t: pa.DataType) -> str:
    """How to select a column so its values come back in a form ``from_pg`` converts."""
    if isinstance(t, UUIDType | JSONType) or pg_type(t) == "numeric(20,0)":
        return f"{quoted}::text"
    return quoted


def from_pg(arr: pa.Array | pa.ChunkedArray, t: pa.DataType) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == pa.null():
        return pa.nulls(len(arr), t)
    if isinstance(t, UUIDType):
        return text_to_uuid(arr)
    if isinstance(t, JSONType):
        # jsonb normalises spacing: re-serialise compactly, as the values were written.
        values = [
            None if v is None else json.dumps(json.loads(v), separators=(",", ":"))
            for v in arr.to_pylist()
        ]
        return pa.ExtensionArray.from_storage(JSON, pa.array(values, pa.utf8()).cast(pa.binary()))
    if pa.types.is_timestamp(t):
        naive = arr.cast(pa.timestamp("us"))
        return naive.cast(pa.timestamp("us", tz="UTC")).cast(t) if t.tz else naive.cast(t)
    if pg_type(t) == "text" and not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return pa.array([None if v is None else json.loads(v) for v in arr.to_pylist()], t)
    return arr.cast(t)
