"""One function per transformation kind: a record in, the changed record out.

Schemas are changed by running the same function on an empty record, as CloudQuery does, so
a table's migrated schema and its records can never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from syncline.schema.arrow import MD_PRIMARY_KEY, MD_SENSITIVE_COLUMNS, MD_TABLE_NAME
from syncline.schema.types import JSON, JSONType
from syncline.transformers.basic import columns as cols
from syncline.transformers.basic import json_paths as jp
from syncline.transformers.basic.columns import rebuild
from syncline.transformers.basic.excepting import allow_only_columns
from syncline.transformers.basic.spec import Kind, Transformation, render_table_name

Step = Callable[[pa.RecordBatch], pa.RecordBatch]
TIMESTAMP = pa.timestamp("us", tz="UTC")


def _split(record: pa.RecordBatch, names: list[str]) -> tuple[set[str], dict[str, list[jp.Path]]]:
    """Whole columns and JSON paths per column, for the columns the record has."""
    present = set(record.schema.names)
    whole = {n for n in names if "." not in n and n in present}
    paths: dict[str, list[jp.Path]] = {}
    for n in names:
        column, path = jp.split_column(n)
        if path is not None and column in present and column not in whole:
            paths.setdefault(column, []).append(path)
    return whole, paths


def _json_column(record: pa.RecordBatch, name: str) -> pa.ExtensionArray:
    col = record.column(record.schema.get_field_index(name))
    if not isinstance(col.type, JSONType):
        raise ValueError(f"column {name} is not a JSON column")
    return col


def _map_json(values: pa.ExtensionArray, fn: Callable[[bytes], bytes]) -> pa.Array:
    out = [None if v is None else fn(v) for v in values.storage.to_pylist()]
    return pa.ExtensionArray.from_storage(JSON, pa.array(out, pa.binary()))


def remove_columns(names: list[str]) -> Step:
    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        whole, paths = _split(record, names)
        if whole and len(whole) == record.num_columns:
            raise ValueError("cannot remove all columns")
        fields, arrays = [], []
        for f, a in zip(record.schema, record.columns, strict=True):
            if f.name in whole:
                continue
            if f.name in paths:
                drop = partial(jp.delete_paths, paths=paths[f.name])
                a = _map_json(_json_column(record, f.name), drop)
            fields.append(f)
            arrays.append(a)
        return rebuild(record, fields, arrays)

    return step


def add_column(name: str, value: str) -> Step:
    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        if name in record.schema.names:
            raise ValueError(f"column {name} already exists")
        arr = pa.repeat(pa.scalar(value, pa.utf8()), record.num_rows)
        field = pa.field(name, pa.utf8(), nullable=False)
        return rebuild(record, [*record.schema, field], [*record.columns, arr])

    return step


def add_timestamp_column(name: str) -> Step:
    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        if name in record.schema.names:
            raise ValueError(f"column {name} already exists")
        arr = pa.repeat(pa.scalar(datetime.now(UTC), TIMESTAMP), record.num_rows)
        return rebuild(record, [*record.schema, pa.field(name, TIMESTAMP)], [*record.columns, arr])

    return step


def add_primary_keys(names: list[str]) -> Step:
    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        table = (record.schema.metadata or {}).get(MD_TABLE_NAME, b"").decode()
        missing = [n for n in names if n not in record.schema.names]
        if missing:
            raise ValueError(f"new primary key column {', '.join(missing)} not found in {table}")
        fields = [
            f.with_metadata({**(f.metadata or {}), MD_PRIMARY_KEY: b"true"})
            if f.name in names
            else f
            for f in record.schema
        ]
        return rebuild(record, fields, record.columns)

    return step


def _redact_column(name: str, values: pa.Array, with_sha: bool) -> pa.Array:
    if cols.is_string(values.type):
        return cols.redact_strings(values, with_sha)
    if isinstance(values.type, JSONType):
        return cols.redact_whole_json(values, with_sha)
    if cols.is_binary(values.type):
        return cols.redact_binary(values, with_sha)
    raise ValueError(f"column {name} is not a string, binary or JSON column")


def _redact_paths(paths: list[jp.Path], with_sha: bool) -> Callable[[bytes], bytes]:
    def change(path: jp.Path, values: list[Any]) -> list[Any]:
        # A path with # redacts every element it names with one marker, as CloudQuery does.
        raw = jp.dumps(values) if "#" in path else jp.dumps(values[0])
        return [cols.marker_of(raw, with_sha)] * len(values)

    return lambda v: jp.update_values(v, paths, change)


def obfuscate_columns(names: list[str], with_sha: bool) -> Step:
    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        whole, paths = _split(record, names)
        arrays = []
        for f, a in zip(record.schema, record.columns, strict=True):
            if f.name in whole:
                a = _redact_column(f.name, a, with_sha)
            elif f.name in paths:
                a = _map_json(_json_column(record, f.name), _redact_paths(paths[f.name], with_sha))
            arrays.append(a)
        return rebuild(record, list(record.schema), arrays)

    return step


def obfuscate_sensitive_columns(with_sha: bool) -> Step:
    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        text = (record.schema.metadata or {}).get(MD_SENSITIVE_COLUMNS)
        if not text:
            return record
        names = json.loads(text)
        return obfuscate_columns(names, with_sha)(record) if names else record

    return step


def change_table_names(template: str) -> Step:
    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        md = dict(record.schema.metadata or {})
        md[MD_TABLE_NAME] = render_table_name(template, md[MD_TABLE_NAME].decode()).encode()
        return pa.RecordBatch.from_arrays(record.columns, schema=record.schema.with_metadata(md))

    return step


def rename_column(old: str, new: str) -> Step:
    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        fields = [f.with_name(new) if f.name == old else f for f in record.schema]
        return rebuild(record, fields, record.columns)

    return step


def change_case(names: list[str], upper: bool) -> Step:
    def change(path: jp.Path, values: list[Any]) -> list[Any] | None:
        if not any(isinstance(v, str) for v in values):
            return None
        return [(v.upper() if upper else v.lower()) if isinstance(v, str) else v for v in values]

    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        whole, paths = _split(record, names)
        arrays = []
        for f, a in zip(record.schema, record.columns, strict=True):
            if f.name in whole:
                if not (cols.is_string(f.type) or isinstance(f.type, JSONType)):
                    raise ValueError(f"column {f.name} is not a string or JSON column")
                a = cols.change_case(a, upper)
            elif f.name in paths:
                update = partial(jp.update_values, paths=paths[f.name], change=change)
                a = _map_json(_json_column(record, f.name), update)
            arrays.append(a)
        return rebuild(record, list(record.schema), arrays)

    return step


def drop_rows(names: list[str], value: str | None) -> Step:
    def step(record: pa.RecordBatch) -> pa.RecordBatch:
        present = [record.column(i) for i, n in enumerate(record.schema.names) if n in names]
        mask = cols.drop_mask(present, value)
        if mask is None or not pc.any(mask).as_py():
            return record
        return record.filter(pc.invert(mask))

    return step


def build(t: Transformation) -> Step:
    k = t.kind
    if k is Kind.REMOVE_COLUMNS:
        return remove_columns(t.columns)
    if k is Kind.ADD_COLUMN:
        return add_column(t.name, t.value or "")
    if k is Kind.ADD_CURRENT_TIMESTAMP_COLUMN:
        return add_timestamp_column(t.name)
    if k is Kind.ADD_PRIMARY_KEYS:
        return add_primary_keys(t.columns)
    if k is Kind.OBFUSCATE_COLUMNS:
        return obfuscate_columns(t.columns, t.with_sha)
    if k is Kind.OBFUSCATE_SENSITIVE_COLUMNS:
        return obfuscate_sensitive_columns(t.with_sha)
    if k is Kind.OBFUSCATE_COLUMNS_EXCEPT:
        return lambda r: allow_only_columns(r, t.columns, t.unmatched_mode, t.with_sha)
    if k is Kind.CHANGE_TABLE_NAMES:
        return change_table_names(t.new_table_name_template)
    if k is Kind.RENAME_COLUMN:
        return rename_column(t.name, t.value or "")
    if k in (Kind.UPPERCASE, Kind.LOWERCASE):
        return change_case(t.columns, k is Kind.UPPERCASE)
    return drop_rows(t.columns, t.value)
