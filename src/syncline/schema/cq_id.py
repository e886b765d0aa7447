"""Deterministic ``_cq_id`` values, byte for byte as CloudQuery's plugin SDK derives them.

The SDK hashes, for each key column in name order, the column name followed by the value's
text form, with SHA-256; the 32-byte digest is the name of a version-5 UUID in the nil
namespace. Text forms follow the SDK's scalars: integers in decimal, ``true``/``false``,
timestamps as RFC 3339 UTC to the second, UUIDs in canonical form, JSON and binary as
their bytes, dates as ``YYYY-MM-DD``, lists as ``[a, b]``, a null as ``(null)``.

Text forms and the per-row messages are built with Arrow compute over whole batches; only
the two hash calls per row run in Python.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from syncline.schema.types import UUID, is_json, is_uuid

NULL_TEXT = b"(null)"
_NIL_NAMESPACE = bytes(16)
_TEXT = pa.large_binary()


def key_text(arr: pa.Array) -> pa.Array:
    """Each value's text form as CloudQuery's SDK writes it (large_binary, no nulls)."""
    t = arr.type
    if is_uuid(t):
        out = _uuid_text(arr.storage)
    elif is_json(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        out = (arr.storage if isinstance(t, pa.ExtensionType) else arr).cast(_TEXT)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        out = arr.cast(_TEXT)
    elif pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_date32(t):
        out = arr.cast(pa.utf8()).cast(_TEXT)
    elif pa.types.is_timestamp(t):
        out = _timestamp_text(arr)
    elif pa.types.is_floating(t):
        out = _float_text(arr)
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        out = _list_text(arr)
    else:  # other types have no PK use in CloudQuery's plugins; Arrow's text form
        out = arr.cast(pa.utf8()).cast(_TEXT)
    return pc.if_else(arr.is_null(), pa.scalar(NULL_TEXT, _TEXT), out)


def _uuid_text(storage: pa.Array) -> pa.Array:
    """Canonical 8-4-4-4-12 lowercase hex, built from the 16-byte storage in one pass."""
    n = len(storage)
    if n == 0:
        return pa.array([], _TEXT)
    filled = storage.fill_null(bytes(16)) if storage.null_count else storage
    raw = np.frombuffer(filled.buffers()[1], dtype=np.uint8)[
        filled.offset * 16 : (filled.offset + n) * 16
    ]
    hexed = np.frombuffer(raw.tobytes().hex().encode(), dtype=np.uint8).reshape(n, 32)
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    parts = [hexed[:, 0:8], dash, hexed[:, 8:12], dash, hexed[:, 12:16], dash]
    text = np.concatenate([*parts, hexed[:, 16:20], dash, hexed[:, 20:32]], axis=1)
    offsets = pa.py_buffer(np.arange(0, 36 * (n + 1), 36, dtype=np.int64).tobytes())
    return pa.LargeBinaryArray.from_buffers(_TEXT, n, [None, offsets, pa.py_buffer(text)])


def _timestamp_text(arr: pa.Array) -> pa.Array:
    # Go's time.RFC3339 drops the fraction: floor to the second, then format in UTC.
    utc = arr.cast(pa.timestamp(arr.type.unit, "UTC"))
    seconds = pc.floor_temporal(utc, unit="second").cast(pa.timestamp("s", "UTC"))
    return pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ").cast(_TEXT)


def _float_text(arr: pa.Array) -> pa.Array:
    # strconv.FormatFloat(v, 'f', -1, 64): the shortest round-trip digits, never an exponent.
    def one(v: float | None) -> bytes | None:
        if v is None:
            return None
        if v != v:
            return b"NaN"
        if v in (float("inf"), float("-inf")):
            return b"+Inf" if v > 0 else b"-Inf"
        return np.format_float_positional(v, unique=True, trim="-").encode()

    return pa.array([one(v) for v in arr.cast(pa.float64()).to_pylist()], _TEXT)


def _list_text(arr: pa.Array) -> pa.Array:
    items = key_text(arr.values)
    lists = pa.LargeListArray.from_arrays(arr.offsets.cast(pa.int64()), items)
    joined = pc.binary_join(lists, pa.scalar(b", ", _TEXT))
    bracket = pa.scalar(b"", _TEXT)
    return pc.binary_join_element_wise(
        pa.scalar(b"[", _TEXT), joined, pa.scalar(b"]", _TEXT), bracket
    ).fill_null(b"[]")


def deterministic_cq_ids(record: pa.RecordBatch, key_columns: list[str]) -> pa.Array:
    """The ``_cq_id`` of every row: UUIDv5(nil, SHA-256(name || text(value) ...))."""
    n = record.num_rows
    names = sorted(key_columns)
    pieces: list[pa.Array | pa.Scalar] = []
    for name in names:
        pieces.append(pa.scalar(name.encode(), _TEXT))
        pieces.append(key_text(record.column(record.schema.get_field_index(name))))
    messages = pc.binary_join_element_wise(*pieces, pa.scalar(b"", _TEXT)).to_pylist()
    # hashlib has no batch form: two calls per row, kept tight (about 1-3 us per row).
    sha256 = hashlib.sha256
    digests = [sha256(m).digest() for m in messages]
    new_name = hashlib.sha1(_NIL_NAMESPACE).copy
    out = bytearray()
    for digest in digests:
        h = new_name()
        h.update(digest)
        out += h.digest()[:16]
    ids = np.frombuffer(out, dtype=np.uint8).reshape(n, 16).copy()
    ids[:, 6] = (ids[:, 6] & 0x0F) | 0x50  # version 5
    ids[:, 8] = (ids[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), n, [None, pa.py_buffer(ids.tobytes())]
    )
    return pa.ExtensionArray.from_storage(UUID, storage)
