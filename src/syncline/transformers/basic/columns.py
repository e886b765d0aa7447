"""Vectorised column changes: redaction markers, case, row filters.

Hashes are computed by DuckDB's ``sha256`` over the whole Arrow array (pyarrow.compute has no
SHA-256), so no Python runs per row.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import uuid

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from syncline.schema.types import JSON, JSONType, UUIDType

# CloudQuery's markers, so redacted data looks the same whichever tool wrote it.
MARKER = "Redacted by CloudQuery"
MARKER_PREFIX = MARKER + " | "
JSON_MARKER_KEY = "redacted_by_cloudquery"

_local = threading.local()
_shared: list[duckdb.DuckDBPyConnection] = []
_shared_lock = threading.Lock()


def _duckdb() -> duckdb.DuckDBPyConnection:
    """This thread's cursor on one in-memory database opened once per process."""
    cursor = getattr(_local, "cursor", None)
    if cursor is None:
        with _shared_lock:
            if not _shared:
                _shared.append(duckdb.connect(config={"threads": 1}))
            cursor = _local.cursor = _shared[0].cursor()
    return cursor


def warm_up() -> None:
    """Open the database now, so the first record is not slowed down by it."""
    sha256_hex(pa.array(["warm up"]))


def rebuild(
    record: pa.RecordBatch, fields: list[pa.Field], arrays: list[pa.Array]
) -> pa.RecordBatch:
    """A record with new fields and arrays and the same table metadata."""
    schema = pa.schema(fields, metadata=record.schema.metadata)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def sha256_hex(values: pa.Array, prefix: str = "") -> pa.Array:
    """``prefix`` + lower-case hex SHA-256 of each string or binary value; null stays null."""
    if len(values) == 0:
        return pa.array([], pa.utf8())
    con = _duckdb()
    con.register("syncline_values", pa.table({"v": values}))
    try:
        # prefix is one of this module's constants, never user input
        query = f"select '{prefix}' || sha256(v) as h from syncline_values"
        out: pa.Table = con.sql(query).to_arrow_table()
    finally:
        con.unregister("syncline_values")
    return pc.cast(out.column("h").combine_chunks(), pa.utf8())


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def marker_of(raw: str, with_sha: bool) -> str:
    return f"{MARKER_PREFIX}{text_sha256(raw)}" if with_sha else MARKER


def _markers(values: pa.Array, with_sha: bool) -> pa.Array:
    """Marker text for each non-null value (utf8 or binary), null for null."""
    if with_sha:
        return sha256_hex(values, MARKER_PREFIX)
    constant = pa.scalar(MARKER, pa.utf8())
    return pc.if_else(pc.is_valid(values), constant, pa.scalar(None, pa.utf8()))


def redact_strings(values: pa.Array, with_sha: bool) -> pa.Array:
    return pc.cast(_markers(values, with_sha), values.type)


def redact_binary(values: pa.Array, with_sha: bool) -> pa.Array:
    return pc.cast(_markers(values, with_sha), values.type)


def redact_whole_json(values: pa.ExtensionArray, with_sha: bool) -> pa.Array:
    """Each document becomes ``{"redacted_by_cloudquery":"<sha of the document>"}``."""
    storage = values.storage
    inner = sha256_hex(storage) if with_sha else None
    if inner is None:
        inner = pc.if_else(
            pc.is_valid(storage), pa.scalar(MARKER, pa.utf8()), pa.scalar(None, pa.utf8())
        )
    text = pc.binary_join_element_wise(f'{{"{JSON_MARKER_KEY}":"', inner, '"}', "")
    return pa.ExtensionArray.from_storage(JSON, pc.cast(text, pa.binary()))


def is_string(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def is_binary(t: pa.DataType) -> bool:
    return bool(pa.types.is_binary(t) or pa.types.is_large_binary(t))


def change_case(values: pa.Array, upper: bool) -> pa.Array:
    fn = pc.utf8_upper if upper else pc.utf8_lower
    if isinstance(values.type, JSONType):
        # CloudQuery changes the case of the whole document text, keys included.
        text = fn(pc.cast(values.storage, pa.utf8()))
        return pa.ExtensionArray.from_storage(JSON, pc.cast(text, pa.binary()))
    return fn(values)


def _same_value(values: pa.Array, value: str) -> pa.Array:
    """Where each value's text is ``value`` (as CloudQuery's ValueStr prints it)."""
    t = values.type
    if isinstance(t, JSONType):
        return pc.equal(values.storage, pa.scalar(value.encode(), pa.binary()))
    if isinstance(t, UUIDType):
        try:
            wanted = uuid.UUID(value).bytes
        except ValueError:
            return pa.repeat(pa.scalar(False), len(values))
        return pc.equal(values.storage, pa.scalar(wanted, pa.binary(16)))
    if is_string(t):
        return pc.equal(values, pa.scalar(value, t))
    if is_binary(t):
        try:  # binary values print as base64
            wanted = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return pa.repeat(pa.scalar(False), len(values))
        return pc.equal(values, pa.scalar(wanted, t))
    if pa.types.is_nested(t):
        raise ValueError("drop_rows supports only non-list columns")
    wanted_scalar = _parse(value, t)
    if wanted_scalar is None:
        return pa.repeat(pa.scalar(False), len(values))
    return pc.equal(values, wanted_scalar)


def _parse(value: str, t: pa.DataType) -> pa.Scalar | None:
    """``value`` as a scalar of type ``t``; a zoned timestamp without an offset is UTC."""
    texts = [value]
    if pa.types.is_timestamp(t) and t.tz:
        texts.append(value + "Z")
    for text in texts:
        try:
            return pa.scalar(text, pa.utf8()).cast(t)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def drop_mask(columns: list[pa.Array], value: str | None) -> pa.Array | None:
    """Rows to drop: any listed column is null (value None) or equal to ``value``."""
    mask: pa.Array | None = None
    for col in columns:
        hit = pc.is_null(col) if value is None else pc.fill_null(_same_value(col, value), False)
        mask = hit if mask is None else pc.or_(mask, hit)
    return mask
