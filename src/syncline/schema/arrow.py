"""Table <-> Arrow schema, with CloudQuery's metadata keys, and rows -> record batches."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from syncline.schema.table import Column, Table
from syncline.schema.types import JSONType, UUIDType

# Table-level metadata keys.
MD_TABLE_NAME = b"cq:table_name"
MD_TABLE_DESCRIPTION = b"cq:table_description"
MD_TABLE_TITLE = b"cq:table_title"
MD_TABLE_DEPENDS_ON = b"cq:table_depends_on"
MD_CONSTRAINT_NAME = b"cq:extension:constraint_name"
MD_INCREMENTAL = b"cq:extension:incremental"
MD_SENSITIVE_COLUMNS = b"cq:table_sensitive_columns"
# Field-level metadata keys.
MD_PRIMARY_KEY = b"cq:extension:primary_key"
MD_PRIMARY_KEY_COMPONENT = b"cq:extension:primary_key_component"
MD_UNIQUE = b"cq:extension:unique"
MD_INCREMENTAL_KEY = b"cq:extension:incremental"
MD_DESCRIPTION = b"cq:extension:description"

_TRUE = b"true"


def _flag(md: Mapping[bytes, bytes], key: bytes) -> bool:
    return md.get(key) == _TRUE


def column_to_field(col: Column) -> pa.Field:
    md: dict[bytes, bytes] = {}
    if col.primary_key:
        md[MD_PRIMARY_KEY] = _TRUE
    if col.primary_key_component:
        md[MD_PRIMARY_KEY_COMPONENT] = _TRUE
    if col.unique:
        md[MD_UNIQUE] = _TRUE
    if col.incremental_key:
        md[MD_INCREMENTAL_KEY] = _TRUE
    if col.description:
        md[MD_DESCRIPTION] = col.description.encode()
    return pa.field(col.name, col.type, nullable=not col.not_null, metadata=md or None)


def field_to_column(f: pa.Field) -> Column:
    md = f.metadata or {}
    return Column(
        name=f.name,
        type=f.type,
        description=md.get(MD_DESCRIPTION, b"").decode(),
        primary_key=_flag(md, MD_PRIMARY_KEY),
        primary_key_component=_flag(md, MD_PRIMARY_KEY_COMPONENT),
        not_null=not f.nullable,
        unique=_flag(md, MD_UNIQUE),
        incremental_key=_flag(md, MD_INCREMENTAL_KEY),
    )


def to_arrow_schema(table: Table) -> pa.Schema:
    md: dict[bytes, bytes] = {MD_TABLE_NAME: table.name.encode()}
    if table.description:
        md[MD_TABLE_DESCRIPTION] = table.description.encode()
    if table.title:
        md[MD_TABLE_TITLE] = table.title.encode()
    if table.parent:
        md[MD_TABLE_DEPENDS_ON] = table.parent.encode()
    if table.pk_constraint_name:
        md[MD_CONSTRAINT_NAME] = table.pk_constraint_name.encode()
    if table.is_incremental:
        md[MD_INCREMENTAL] = _TRUE
    if table.sensitive_columns:
        md[MD_SENSITIVE_COLUMNS] = json.dumps(list(table.sensitive_columns)).encode()
    return pa.schema([column_to_field(c) for c in table.columns], metadata=md)


def from_arrow_schema(schema: pa.Schema) -> Table:
    md = schema.metadata or {}
    name = md.get(MD_TABLE_NAME)
    if not name:
        raise ValueError("Arrow schema has no cq:table_name metadata")
    parent = md.get(MD_TABLE_DEPENDS_ON, b"").decode() or None
    return Table(
        name=name.decode(),
        columns=tuple(field_to_column(f) for f in schema),
        description=md.get(MD_TABLE_DESCRIPTION, b"").decode(),
        title=md.get(MD_TABLE_TITLE, b"").decode(),
        parent=parent,
        is_incremental=_flag(md, MD_INCREMENTAL),
        pk_constraint_name=md.get(MD_CONSTRAINT_NAME, b"").decode(),
        sensitive_columns=tuple(json.loads(md.get(MD_SENSITIVE_COLUMNS, b"[]"))),
    )


def _to_storage_value(t: pa.DataType, v: Any) -> Any:
    if v is None:
        return None
    if isinstance(t, UUIDType):
        if isinstance(v, uuid.UUID):
            return v.bytes
        if isinstance(v, str):
            return uuid.UUID(v).bytes
        return bytes(v)
    if isinstance(t, JSONType):
        if isinstance(v, bytes):
            return v
        return json.dumps(v, separators=(",", ":"), default=str).encode()
    return v


def column_array(t: pa.DataType, values: Sequence[Any]) -> pa.Array:
    """Build one Arrow array, accepting Python values for extension types too."""
    if isinstance(t, pa.ExtensionType):
        storage = pa.array([_to_storage_value(t, v) for v in values], type=t.storage_type)
        return pa.ExtensionArray.from_storage(t, storage)
    return pa.array(values, type=t)


def rows_to_record(schema: pa.Schema, rows: Sequence[Mapping[str, Any]]) -> pa.RecordBatch:
    """Column-wise conversion of row dicts; a missing key is NULL."""
    arrays = [column_array(f.type, [r.get(f.name) for r in rows]) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
