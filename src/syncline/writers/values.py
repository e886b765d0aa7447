"""Vectorised value conversions shared by destinations."""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from syncline.schema import temporal
from syncline.schema.arrays import from_numpy, int_values, utf8_array, utf8_scalar
from syncline.schema.types import UUID

# pyarrow.compute is imported where it is used: it is slow to load (about 0.1 s), and a sync
# that finds nothing new needs none of it.

# The two hex digits of each byte value, as one 2-byte item: a byte array becomes its hex text
# with a single lookup.
_HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % b for b in range(256)), dtype=np.uint16)
# Where each byte's two digits go in a UUID's 36 characters (8-4-4-4-12, dashes between).
_UUID_GROUPS = ((0, 4, 0), (4, 6, 9), (6, 8, 14), (8, 10, 19), (10, 16, 24))
# Scalars made from buffers (see schema.arrays: converting Python values imports pandas).
_ZERO_UUID = pa.FixedSizeBinaryArray.from_buffers(
    pa.binary(16), 1, [None, pa.py_buffer(bytes(16))]
)[0]
_NULL_TEXT = pa.nulls(1, pa.utf8())[0]
_FALSE = from_numpy(np.zeros(1, np.bool_))[0]
_JSON = {t: utf8_scalar(t) for t in ("null", ",", "[", "]", "")}
_NON_FINITE_JSON = [
    (utf8_scalar(raw), utf8_scalar(out))
    for raw, out in (("nan", '"NaN"'), ("inf", '"Infinity"'), ("-inf", '"-Infinity"'))
]


def uuid_to_text(arr: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    storage = arr.storage if isinstance(arr, pa.ExtensionArray) else arr
    n = len(storage)
    if storage.null_count == n:  # e.g. _cq_parent_id of a top-level table
        return pa.nulls(n, pa.utf8())
    filled = storage.fill_null(_ZERO_UUID) if storage.null_count else storage
    raw = np.frombuffer(
        filled.buffers()[1], dtype=np.uint8, count=16 * n, offset=filled.offset * 16
    ).reshape(n, 16)
    pairs = np.take(_HEX_PAIRS, raw)  # (n, 16) two-character items
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for first, stop, at in _UUID_GROUPS:
        out[:, at : at + 2 * (stop - first)] = pairs[:, first:stop].view(np.uint8)
    offsets = pa.py_buffer(np.arange(0, 36 * (n + 1), 36, dtype=np.int32).tobytes())
    text = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(out.tobytes()))
    if storage.null_count:
        text = pc.if_else(pc.is_valid(storage), text, _NULL_TEXT)
    return text


def text_to_uuid(arr: pa.Array) -> pa.Array:
    texts = arr.to_pylist()
    data = b"".join(bytes(16) if v is None else uuid.UUID(v).bytes for v in texts)
    valid = np.array([v is not None for v in texts], dtype=np.bool_)
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(texts), [bitmap, pa.py_buffer(data)]
    )
    return pa.ExtensionArray.from_storage(UUID, storage)


def map_columns(record: pa.RecordBatch, convert: Callable[[pa.Array], pa.Array]) -> pa.RecordBatch:
    """A record with every column converted (names kept, table metadata dropped)."""
    return pa.RecordBatch.from_arrays(
        [convert(c) for c in record.columns], names=record.schema.names
    )


def json_text(arr: pa.Array) -> pa.Array:
    """Each value (lists, structs, maps, ...) as JSON text; values JSON lacks become str()."""
    return utf8_array([None if v is None else json_dumps(v) for v in arr.to_pylist()])


# JSON has no NaN or infinities: they are written as these strings (and read back by
# ``json_float``), so every document stays valid JSON and no value is lost.
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def json_safe(v: Any) -> Any:
    """``v`` with every non-finite float replaced by its string (NaN, Infinity, -Infinity)."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, list | tuple):
        return [json_safe(x) for x in v]
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    return v


def json_dumps(v: Any, default: Callable[[Any], Any] = str) -> str:
    return json.dumps(json_safe(v), default=default, allow_nan=False)


def json_float(v: Any) -> Any:
    """The inverse of ``json_safe`` for values of float columns."""
    if isinstance(v, str) and v in _NON_FINITE:
        return _NON_FINITE[v]
    if isinstance(v, list):
        return [json_float(x) for x in v]
    return v


def numeric_list_json(arr: pa.Array) -> pa.Array:
    """A list of numbers as a JSON array: NULL elements as null, NaN/infinities as strings."""
    import pyarrow.compute as pc

    text = arr.cast(pa.list_(pa.utf8()))
    values = text.values
    if pa.types.is_floating(arr.type.value_type):
        for raw, out in _NON_FINITE_JSON:
            values = pc.if_else(pc.equal(values, raw).fill_null(_FALSE), out, values)
    values = values.fill_null(_JSON["null"])
    lists = pa.ListArray.from_arrays(text.offsets, values, mask=text.is_null())
    joined = pc.binary_join(lists, _JSON[","])
    return pc.binary_join_element_wise(_JSON["["], joined, _JSON["]"], _JSON[""])


def warn_far_times(record: pa.RecordBatch, logger: logging.Logger, where: str, rule: str) -> None:
    """Log one warning when timestamps or dates outside years 1..9999 go through ``rule``."""
    far = sum(
        int(temporal.outside_common_range(c).sum())
        for c in record.columns
        if temporal.is_temporal(c.type)
    )
    if far:
        logger.warning("%s: %d timestamps or dates outside years 1..9999 %s", where, far, rule)


def has_duplicate_keys(data: pa.Table, keys: list[str]) -> bool:
    """Whether two rows share a primary key (checked in Arrow, without a round trip).

    Each key column becomes dictionary codes (a null is a value of its own, as in a group-by),
    and the codes of several columns are folded into one code per distinct combination, by
    hashing again; a column whose values are all distinct settles it at once. Arrow's group-by
    would load Acero, and with it ``pyarrow.dataset`` and pandas; NumPy's unique rows sort,
    several times slower."""
    import pyarrow.compute as pc

    if data.num_rows < 2:
        return False
    combined: np.ndarray | None = None
    distinct = 0
    for name in keys:
        column = data.column(name)
        if isinstance(column.type, pa.BaseExtensionType):  # encoded by their storage
            column = column.cast(column.type.storage_type)
        encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
        if len(encoded.dictionary) == data.num_rows:  # one column alone tells every row apart
            return False
        codes = int_values(encoded.indices).astype(np.int64)
        if combined is None:
            combined, distinct = codes, len(encoded.dictionary)
            continue
        # Both below the row count: the product fits in 64 bits.
        folded = pc.dictionary_encode(from_numpy(combined * len(encoded.dictionary) + codes))
        combined, distinct = int_values(folded.indices).astype(np.int64), len(folded.dictionary)
    return bool(distinct < data.num_rows)
