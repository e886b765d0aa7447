"""Arrow IPC bytes for schemas and records, as the protocol carries them."""

from __future__ import annotations

import pyarrow as pa

import syncline.schema.types  # noqa: F401  (registers the uuid/json extension types)
from syncline.schema.arrow import from_arrow_schema, to_arrow_schema
from syncline.schema.table import Table


def schema_bytes(schema: pa.Schema) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema):
        pass
    return bytes(sink.getvalue().to_pybytes())


def table_bytes(table: Table) -> bytes:
    return schema_bytes(to_arrow_schema(table))


def table_from_bytes(data: bytes) -> Table:
    with pa.ipc.open_stream(data) as reader:
        return from_arrow_schema(reader.schema)


def record_bytes(record: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, record.schema) as writer:
        writer.write_batch(record)
    return bytes(sink.getvalue().to_pybytes())


def record_from_bytes(data: bytes) -> pa.RecordBatch:
    with pa.ipc.open_stream(data) as reader:
        batches = list(reader)
        schema = reader.schema
    if not batches:
        return (
            schema.empty_table().to_batches()[0]
            if len(schema)
            else pa.record_batch([], schema=schema)
        )
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
