"""Arrow <-> BigQuery, as CloudQuery's BigQuery destination maps types.

JSON and maps -> ``JSON``; UUID -> ``STRING``; lists -> ``REPEATED`` of the element's type;
structs -> ``RECORD``; timestamps -> ``TIMESTAMP``; ``uint64`` -> ``NUMERIC``; durations ->
``INTEGER`` (BigQuery's intervals cannot hold them).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pyarrow as pa
from google.cloud.bigquery import SchemaField

from syncline.schema.table import Column
from syncline.schema.types import JSONType, UUIDType
from syncline.writers.values import json_text, text_to_uuid, uuid_to_text

# BigQuery reports some types by their standard SQL names; compare by one name.
_SAME = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def bigquery_type(t: pa.DataType) -> str:
    """The BigQuery type of one Arrow value (a list's element type; see ``schema_field``)."""
    if isinstance(t, JSONType) or pa.types.is_map(t):
        return "JSON"
    if isinstance(t, pa.BaseExtensionType):
        return "STRING"
    if pa.types.is_struct(t):
        return "RECORD"
    if _is_list(t):
        return bigquery_type(t.value_type)
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_uint64(t):
        return "NUMERIC"
    if pa.types.is_integer(t) or pa.types.is_duration(t):
        return "INTEGER"
    if pa.types.is_floating(t):
        return "FLOAT"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "BYTES"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    if pa.types.is_time(t):
        return "TIME"
    if pa.types.is_decimal(t):
        return "NUMERIC" if t.precision - t.scale <= 29 and t.scale <= 9 else "BIGNUMERIC"
    return "STRING"  # strings, and anything else as its text form


def schema_field(name: str, t: pa.DataType, description: str = "") -> SchemaField:
    """Every column is NULLABLE (append only, no keys), lists are REPEATED."""
    inner = t.value_type if _is_list(t) else t
    fields: tuple[SchemaField, ...] = ()
    if pa.types.is_struct(inner):
        fields = tuple(schema_field(f.name, f.type) for f in inner)
    return SchemaField(
        name,
        bigquery_type(t),
        mode="REPEATED" if _is_list(t) else "NULLABLE",
        description=description or None,  # type: ignore[arg-type]
        fields=fields,
    )


def column_field(col: Column) -> SchemaField:
    return schema_field(col.name, col.type, col.description)


def shape_of(field: SchemaField) -> str:
    """A comparable text form of a field's type, mode and sub-fields."""
    kind = _SAME.get(field.field_type, field.field_type)
    if field.fields:
        kind += "<" + ", ".join(f"{f.name} {shape_of(f)}" for f in field.fields) + ">"
    return f"REPEATED {kind}" if field.mode == "REPEATED" else kind


# -- values ---------------------------------------------------------------------------------


def to_bigquery(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as BigQuery stores it (what both Parquet loads and insertAll start from)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if isinstance(t, UUIDType):
        return uuid_to_text(arr)
    if isinstance(t, JSONType):
        return arr.storage.cast(pa.utf8())
    if isinstance(t, pa.BaseExtensionType):
        return to_bigquery(arr.storage).cast(pa.utf8())
    if pa.types.is_map(t):
        return json_text(arr)
    if bigquery_type(t) == "STRING" and not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return json_text(arr)  # intervals and other types BigQuery has no column for
    if _is_list(t) or pa.types.is_struct(t):
        if _needs_change(t):
            return pa.array(arr.to_pylist(), _storage_type(t))
        return arr
    target = _storage_type(t)
    return arr if target == t else arr.cast(target, safe=False)


def _storage_type(t: pa.DataType) -> pa.DataType:
    if isinstance(t, pa.BaseExtensionType) or pa.types.is_map(t):
        return pa.utf8()
    if _is_list(t):
        return pa.list_(_storage_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _storage_type(f.type)) for f in t])
    if pa.types.is_uint64(t):
        return pa.decimal128(38, 9)
    if pa.types.is_duration(t) or pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_time(t):
        return pa.time64("us")
    if pa.types.is_large_string(t):
        return pa.utf8()
    if pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pa.binary()
    if pa.types.is_null(t):
        return pa.utf8()
    return t


def _needs_change(t: pa.DataType) -> bool:
    return bool(_storage_type(t) != t)


def json_rows(record: pa.RecordBatch) -> list[dict[str, Any]]:
    """Prepared rows as insertAll takes them: times and decimals as text, bytes as base64."""
    columns = []
    for arr in record.columns:
        text = _texts(arr)
        values = text.to_pylist()
        if _has_binary(arr.type):
            values = [_b64(v) for v in values]
        columns.append(values)
    names = record.schema.names
    # NULLs are left out: BigQuery refuses a null REPEATED value, and the request is smaller.
    return [
        {k: v for k, v in zip(names, row, strict=True) if v is not None}
        for row in zip(*columns, strict=True)
    ]


def _text_type(t: pa.DataType) -> pa.DataType:
    if _is_list(t):
        return pa.list_(_text_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _text_type(f.type)) for f in t])
    if pa.types.is_temporal(t) or pa.types.is_decimal(t):
        return pa.utf8()
    return t


def _texts(arr: pa.Array) -> pa.Array:
    # Arrow writes timestamps as "2024-05-01 12:00:00.123456Z", a form BigQuery reads.
    target = _text_type(arr.type)
    return arr if target == arr.type else arr.cast(target)


def _has_binary(t: pa.DataType) -> bool:
    if pa.types.is_binary(t):
        return True
    if _is_list(t):
        return _has_binary(t.value_type)
    if pa.types.is_struct(t):
        return any(_has_binary(f.type) for f in t)
    return False


def _b64(v: Any) -> Any:
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, list):
        return [_b64(x) for x in v]
    if isinstance(v, dict):
        return {k: _b64(x) for k, x in v.items()}
    return v


def from_bigquery(arr: pa.Array | pa.ChunkedArray, t: pa.DataType) -> pa.Array:
    """A column read back from BigQuery in the table's Arrow type."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if isinstance(t, UUIDType):
        return text_to_uuid(arr.cast(pa.utf8()))
    if isinstance(t, JSONType):
        return pa.ExtensionArray.from_storage(t, _json_text(arr).cast(pa.binary()))
    if isinstance(t, pa.BaseExtensionType):
        return pa.ExtensionArray.from_storage(t, arr.cast(t.storage_type))
    if pa.types.is_map(t):
        docs = [None if v is None else json.loads(v) for v in _json_text(arr).to_pylist()]
        return pa.array([None if d is None else list(d.items()) for d in docs], t)
    if arr.type == t:
        return arr
    if _is_list(t) or pa.types.is_struct(t):
        return pa.array(arr.to_pylist(), t)
    return arr.cast(t)


def _json_text(arr: pa.Array) -> pa.Array:
    """JSON values come back as text, or as parsed documents from some clients."""
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr.cast(pa.utf8())
    if isinstance(arr.type, pa.BaseExtensionType):
        return _json_text(arr.storage)
    return json_text(arr)
