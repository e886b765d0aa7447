"""The ``cloudquery_sync_summaries`` table written to destinations with ``send_sync_summary``."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from syncline.schema.arrow import to_arrow_schema
from syncline.schema.table import Column, Table
from syncline.schema.types import JSON

SUMMARY_TABLE = "cloudquery_sync_summaries"

_COLUMNS: dict[str, pa.DataType] = {
    "cli_version": pa.utf8(),
    "destination_errors": pa.int64(),
    "destination_name": pa.utf8(),
    "destination_path": pa.utf8(),
    "destination_version": pa.utf8(),
    "destination_warnings": pa.int64(),
    "resources": pa.int64(),
    "source_errors": pa.int64(),
    "source_name": pa.utf8(),
    "source_path": pa.utf8(),
    "source_version": pa.utf8(),
    "source_warnings": pa.int64(),
    "source_tables": pa.list_(pa.utf8()),
    "sync_id": pa.utf8(),
    "sync_duration_ms": pa.int64(),
    "shard_num": pa.int64(),
    "shard_total": pa.int64(),
    "resources_per_table": JSON,
    "errors_per_table": JSON,
    "durations_per_table_ms": JSON,
}

# sync_time and sync_group_id arrive as the internal _cq_sync_time / _cq_sync_group_id columns.
SUMMARY = Table(
    name=SUMMARY_TABLE,
    description="One row per sync and destination.",
    columns=tuple(Column(name, t) for name, t in _COLUMNS.items()),
)


def summary_record(summary: dict[str, Any]) -> pa.RecordBatch:
    row = {k: summary.get(k) for k in _COLUMNS}
    for k, t in _COLUMNS.items():
        if t == JSON and row[k] is not None:
            row[k] = json.dumps(row[k], sort_keys=True).encode()
    arrays = [
        pa.ExtensionArray.from_storage(JSON, pa.array([row[k]], pa.binary()))
        if t == JSON
        else pa.array([row[k]], t)
        for k, t in _COLUMNS.items()
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=to_arrow_schema(SUMMARY))
