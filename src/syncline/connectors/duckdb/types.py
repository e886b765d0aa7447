"""Arrow <-> DuckDB column types and values."""

from __future__ import annotations

import uuid

import pyarrow as pa

from syncline.schema.types import JSON, UUID, JSONType, UUIDType
from syncline.writers.values import json_text

_SIMPLE = {
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.float16(): "FLOAT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.utf8(): "VARCHAR",
    pa.large_utf8(): "VARCHAR",
    pa.binary(): "BLOB",
    pa.large_binary(): "BLOB",
    pa.date32(): "DATE",
    pa.date64(): "DATE",
}


def duckdb_type(t: pa.DataType) -> str:
    if isinstance(t, UUIDType):
        return "UUID"
    if isinstance(t, JSONType):
        return "JSON"
    if t in _SIMPLE:
        return _SIMPLE[t]
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"  # UTC, without zone, as CloudQuery's DuckDB destination does
    if pa.types.is_fixed_size_binary(t):
        return "BLOB"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return f"{duckdb_type(t.value_type)}[]"
    return "VARCHAR"


def to_duckdb(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One column -> an Arrow type DuckDB scans natively (casts to the column type on insert)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    # DuckDB reads Arrow's canonical uuid and json extension types natively.
    if isinstance(t, UUIDType):
        return pa.ExtensionArray.from_storage(pa.uuid(), arr.storage)
    if isinstance(t, JSONType):
        return pa.ExtensionArray.from_storage(pa.json_(), arr.storage.cast(pa.utf8()))
    if pa.types.is_timestamp(t):
        return arr.cast(pa.timestamp("us"))
    if pa.types.is_fixed_size_binary(t):
        return arr.cast(pa.binary())
    if duckdb_type(t) == "VARCHAR" and not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return json_text(arr)
    return arr


def from_duckdb(arr: pa.Array | pa.ChunkedArray, t: pa.DataType) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if isinstance(t, UUIDType):
        values = [None if v is None else uuid.UUID(str(v)).bytes for v in arr.to_pylist()]
        return pa.ExtensionArray.from_storage(UUID, pa.array(values, pa.binary(16)))
    if isinstance(t, JSONType):
        if isinstance(arr.type, pa.ExtensionType):
            arr = arr.storage
        return pa.ExtensionArray.from_storage(JSON, arr.cast(pa.utf8()).cast(pa.binary()))
    if pa.types.is_timestamp(t):
        naive = arr.cast(pa.timestamp("us"))
        return naive.cast(pa.timestamp("us", tz="UTC")).cast(t) if t.tz else naive.cast(t)
    return arr.cast(t)
