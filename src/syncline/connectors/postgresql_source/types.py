"""PostgreSQL column types -> Arrow, and the values ADBC returns -> those Arrow types."""

from __future__ import annotations

import re

import pyarrow as pa

from syncline.schema.types import JSON, UUID, JSONType, UUIDType

_SIMPLE: dict[str, pa.DataType] = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "text": pa.utf8(),
    "name": pa.utf8(),
    "bytea": pa.binary(),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "uuid": UUID,
    "json": JSON,
    "jsonb": JSON,
}
_VARCHAR = re.compile(r"^(character varying|character|varchar|char|bpchar)(\(\d+\))?$")
_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)$")
_TIMESTAMP = re.compile(r"^timestamp\(\d\) (with|without) time zone$")


def arrow_type(pg: str) -> tuple[pa.DataType, bool]:
    """The Arrow type of a ``format_type`` name, and whether to select the column as text."""
    if pg.endswith("[]"):
        inner, as_text = arrow_type(pg[:-2])
        if as_text or isinstance(inner, UUIDType | JSONType) or pa.types.is_decimal(inner):
            return pa.utf8(), True
        return pa.list_(inner), False
    if pg in _SIMPLE:
        return _SIMPLE[pg], False
    if _VARCHAR.match(pg):
        return pa.utf8(), False
    if m := _TIMESTAMP.match(pg):
        return (pa.timestamp("us", tz="UTC") if m.group(1) == "with" else pa.timestamp("us")), False
    if m := _NUMERIC.match(pg):
        precision, scale = int(m.group(1)), int(m.group(2))
        if precision <= 38:
            return pa.decimal128(precision, scale), True
    return pa.utf8(), True  # numeric without precision, intervals, enums, ...: their text form


def convert(arr: pa.Array | pa.ChunkedArray, t: pa.DataType) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == t:
        return arr
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    if isinstance(t, UUIDType):
        return pa.ExtensionArray.from_storage(UUID, arr.cast(pa.binary(16)))
    if isinstance(t, JSONType):
        return pa.ExtensionArray.from_storage(JSON, arr.cast(pa.utf8()).cast(pa.binary()))
    return arr.cast(t)
