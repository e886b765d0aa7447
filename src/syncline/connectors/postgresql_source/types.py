"""PostgreSQL column types -> Arrow, and the values ADBC returns -> those Arrow types."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from syncline.schema.arrays import int_values, utf8_array, validity
from syncline.schema.temporal import DATE_INFINITY, TIMESTAMP_INFINITY
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


# ADBC shifts PostgreSQL's epoch (2000-01-01) to Unix's without overflow checks: PostgreSQL's
# infinities (the extreme integers) and dates past Arrow's range come out wrapped around.
_PG_EPOCH_US = 946_684_800_000_000
_PG_EPOCH_DAYS = 10_957
# Values a numeric column can hold that a decimal cannot. (Arrays here are made from buffers:
# pyarrow's conversion of Python values imports pandas, see schema.arrays.)
_NOT_DECIMAL = utf8_array(["NaN", "Infinity", "-Infinity"])


def convert(arr: pa.Array | pa.ChunkedArray, t: pa.DataType) -> tuple[pa.Array, int]:
    """A column as ADBC returned it -> the table's Arrow type, and how many values could not
    be held (a numeric NaN becomes NULL; a time past year 294246 the largest finite one)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_timestamp(arr.type) or pa.types.is_date32(arr.type):
        arr, lost = _unwrap(arr)
        return arr.cast(t) if arr.type != t else arr, lost
    if arr.type == t:
        return arr, 0
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    if isinstance(t, UUIDType):
        return pa.ExtensionArray.from_storage(UUID, arr.cast(pa.binary(16))), 0
    if isinstance(t, JSONType):
        return pa.ExtensionArray.from_storage(JSON, arr.cast(pa.utf8()).cast(pa.binary())), 0
    if pa.types.is_decimal(t) and pa.types.is_string(arr.type):
        special = pc.is_in(arr, _NOT_DECIMAL)
        lost = pc.sum(special).as_py() or 0
        if lost:
            arr = pc.if_else(special, pa.nulls(len(arr), pa.utf8()), arr)
        return arr.cast(t), lost
    return arr.cast(t), 0


def _unwrap(arr: pa.Array) -> tuple[pa.Array, int]:
    if pa.types.is_timestamp(arr.type):
        width, low, offset, inf = pa.int64(), -(2**63), _PG_EPOCH_US, TIMESTAMP_INFINITY
    else:
        width, low, offset, inf = pa.int32(), -(2**31), _PG_EPOCH_DAYS, DATE_INFINITY
    valid = validity(arr)
    ints = np.where(valid, int_values(arr.view(width)), 0)
    negative_infinity = low + offset
    wrapped = ints <= negative_infinity
    if not wrapped.any():
        return arr, 0
    positive = ints == negative_infinity - 1
    negative = ints == negative_infinity
    beyond = wrapped & ~positive & ~negative
    ints[positive] = inf
    ints[negative] = -inf
    ints[beyond] = inf - 1
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    fixed = pa.Array.from_buffers(width, len(ints), [bitmap, pa.py_buffer(ints)]).view(arr.type)
    return fixed, int(np.count_nonzero(beyond & valid))
