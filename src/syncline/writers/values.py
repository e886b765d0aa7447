"""Vectorised value conversions shared by destinations."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from syncline.schema.types import UUID

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


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
    values = [None if v is None else uuid.UUID(v).bytes for v in arr.to_pylist()]
    return pa.ExtensionArray.from_storage(UUID, pa.array(values, pa.binary(16)))


def map_columns(record: pa.RecordBatch, convert: Callable[[pa.Array], pa.Array]) -> pa.RecordBatch:
    """A record with every column converted (names kept, table metadata dropped)."""
    return pa.RecordBatch.from_arrays(
        [convert(c) for c in record.columns], names=record.schema.names
    )


def json_text(arr: pa.Array) -> pa.Array:
    """Each value (lists, structs, maps, ...) as JSON text; values JSON lacks become str()."""
    return pa.array(
        [None if v is None else json.dumps(v, default=str) for v in arr.to_pylist()], pa.utf8()
    )
