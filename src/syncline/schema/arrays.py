"""Arrow arrays and scalars made from their buffers, not converted from Python values.

pyarrow's conversion of NumPy and Python values (``pa.array``, ``pa.scalar``) imports pandas
the first time it runs in a process, where pandas is installed, only to check whether the
values are pandas objects: 0.3 to 0.4 s of CPU in each process of a sync (the engine and every
plugin). The data path builds its arrays here instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_numpy(values: np.ndarray, type_: pa.DataType | None = None) -> pa.Array:
    """A one-dimensional NumPy array of numbers or booleans (no nulls) as an Arrow array of
    its own type, or of ``type_`` if that has the same width (int64 -> timestamp)."""
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:
        own = pa.bool_()
        data = pa.py_buffer(np.packbits(values, bitorder="little"))
    else:
        own = pa.from_numpy_dtype(values.dtype)
        data = pa.py_buffer(values)
    array = pa.Array.from_buffers(own, len(values), [None, data])
    return array if type_ is None or type_ == own else array.view(type_)


def utf8_scalar(text: str) -> pa.Scalar:
    return _one_string(pa.utf8(), text.encode())


def binary_scalar(data: bytes) -> pa.Scalar:
    return _one_string(pa.binary(), data)


def _one_string(type_: pa.DataType, data: bytes) -> pa.Scalar:
    offsets = np.array([0, len(data)], dtype=np.int32)
    return pa.Array.from_buffers(type_, 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])[0]


def timestamp_scalar(value: datetime, type_: pa.TimestampType) -> pa.Scalar:
    """An aware datetime (naive: taken as UTC) as a scalar of a timestamp type."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    ticks = (delta.days * 86_400 + delta.seconds) * _PER_SECOND[type_.unit] + (
        delta.microseconds * _PER_SECOND[type_.unit] // 10**6
    )
    return from_numpy(np.array([ticks], dtype=np.int64), type_)[0]


def int_values(array: pa.Array) -> np.ndarray:
    """A signed-integer array's values as a NumPy view, without a copy; a null's slot holds
    whatever its buffer does (mask with ``validity``)."""
    dtype = np.dtype(f"int{array.type.bit_width}")
    data = array.buffers()[1]
    if data is None:
        return np.zeros(len(array), dtype)
    return np.frombuffer(data, dtype, count=len(array), offset=array.offset * dtype.itemsize)


def validity(array: pa.Array) -> np.ndarray:
    """Which values are not null."""
    bitmap = array.buffers()[0]
    if bitmap is None:
        return np.full(len(array), array.null_count == 0)
    bits = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="little")
    return bits[array.offset : array.offset + len(array)].astype(bool)


def utf8_array(texts: Sequence[str | None]) -> pa.Array:
    """Small arrays of text (cursor keys and values, statement parameters)."""
    encoded = [b"" if t is None else t.encode() for t in texts]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    if len(ends) and ends[-1] >= 2**31:
        raise ValueError("text too large for one utf8 array (2 GiB)")
    offsets = np.concatenate([np.zeros(1, dtype=np.int32), ends.astype(np.int32)])
    valid = np.array([t is not None for t in texts], dtype=np.bool_)
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    buffers = [bitmap, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.utf8(), len(texts), buffers)


def one_value(value: object) -> pa.Array:
    """A one-element array of a str, bytes, bool, int, float, naive datetime or None (statement
    parameters); any other value goes through pyarrow's own conversion."""
    if value is None:
        return pa.nulls(1)
    if isinstance(value, str):
        return utf8_array([value])
    if isinstance(value, bytes):
        return pa.repeat(binary_scalar(value), 1)
    if isinstance(value, bool):
        return from_numpy(np.array([value], dtype=np.bool_))
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return from_numpy(np.array([value], dtype=np.int64))
    if isinstance(value, float):
        return from_numpy(np.array([value], dtype=np.float64))
    if isinstance(value, datetime) and value.tzinfo is None:
        return pa.repeat(timestamp_scalar(value, pa.timestamp("us")), 1)
    return pa.array([value])
