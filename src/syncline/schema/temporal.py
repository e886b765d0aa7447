"""Infinite and far-out timestamps and dates in Arrow, and their text form.

PostgreSQL has ``infinity`` and ``-infinity`` timestamps and dates; Arrow has none. They travel
as the largest and the negated largest value of the storage integer (``±(2**63 - 1)``
microseconds, ``±(2**31 - 1)`` days) — the values DuckDB reads as its own infinities. Text
forms are ``infinity`` / ``-infinity``; a finite value outside what Arrow's own text cast
covers (roughly years -32767..32767) is written by numpy in the same layout.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from syncline.schema.arrays import from_numpy, int_values, utf8_scalar, validity

# pyarrow.compute is imported where it is used: it is slow to load (about 0.1 s), and a sync
# that finds nothing new needs none of it.


TIMESTAMP_INFINITY = 2**63 - 1
DATE_INFINITY = 2**31 - 1
# Years 1..9999: what Python's datetime and fixed-width text (YYYY-...) hold.
_MIN_TS_US = -62_135_596_800_000_000
_MAX_TS_US = 253_402_300_799_999_999
_MIN_DAYS = -719_162
_MAX_DAYS = 2_932_896


def is_temporal(t: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(t) or pa.types.is_date32(t))


def _raw(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The storage integers of a timestamp or date32 array (a null: whatever its slot holds)
    and its validity."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    width = pa.int64() if pa.types.is_timestamp(arr.type) else pa.int32()
    return int_values(arr.view(width)), validity(arr)


def infinity_of(t: pa.DataType) -> int:
    return TIMESTAMP_INFINITY if pa.types.is_timestamp(t) else DATE_INFINITY


def infinite_mask(arr: pa.Array) -> np.ndarray:
    """Which values are +infinity or -infinity."""
    ints, valid = _raw(arr)
    inf = infinity_of(arr.type)
    return valid & ((ints == inf) | (ints == -inf))  # type: ignore[no-any-return]


def outside_common_range(arr: pa.Array) -> np.ndarray:
    """Values outside years 1..9999 (infinities included)."""
    ints, valid = _raw(arr)
    if pa.types.is_timestamp(arr.type):
        low, high = _MIN_TS_US, _MAX_TS_US
    else:
        low, high = _MIN_DAYS, _MAX_DAYS
    return valid & ((ints < low) | (ints > high))


def to_text(arr: pa.Array, *, sep: str = " ") -> pa.Array:
    """Text of each value: Arrow's layout, ``infinity``/``-infinity``, far years by numpy."""
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    text = arr.cast(pa.utf8())
    if sep != " " and pa.types.is_timestamp(arr.type):
        text = pc.replace_substring(text, " ", sep, max_replacements=1)
    far = outside_common_range(arr)
    if not far.any():
        return text
    ints, _ = _raw(arr)
    inf = infinity_of(arr.type)
    numpy_type = "datetime64[us]" if pa.types.is_timestamp(arr.type) else "datetime64[D]"
    values = text.to_pylist()
    suffix = "Z" if pa.types.is_timestamp(arr.type) and arr.type.tz else ""
    for i in np.flatnonzero(far):
        v = int(ints[i])
        if v == inf:
            values[i] = "infinity"
        elif v == -inf:
            values[i] = "-infinity"
        else:
            iso = str(np.datetime_as_string(np.array([v], dtype=numpy_type))[0])
            values[i] = iso.replace("T", sep) + suffix
    return pa.array(values, pa.utf8())


def from_text(arr: pa.Array, t: pa.DataType) -> pa.Array:
    """The inverse of ``to_text`` for the infinities (other values through Arrow's cast)."""
    import pyarrow.compute as pc

    text = arr.cast(pa.utf8())
    false = from_numpy(np.zeros(1, dtype=np.bool_))[0]
    pos = pc.equal(text, utf8_scalar("infinity")).fill_null(false)
    neg = pc.equal(text, utf8_scalar("-infinity")).fill_null(false)
    if not (pc.any(pos).as_py() or pc.any(neg).as_py()):
        return text.cast(t)
    plain = pc.if_else(pc.or_(pos, neg), pa.nulls(1, pa.utf8())[0], text).cast(t)
    width = np.int64 if pa.types.is_timestamp(t) else np.int32
    inf = from_numpy(np.array([infinity_of(t), -infinity_of(t)], dtype=width))
    ints = plain.view(inf.type)
    ints = pc.if_else(pos, inf[0], ints)
    ints = pc.if_else(neg, inf[1], ints)
    return ints.view(t)
