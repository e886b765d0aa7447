"""The file destination: Parquet, CSV or JSON lines files, append only.

Each write becomes one new file in a local folder, S3 or GCS (see ``storage``), and a file
that exists is complete: a crash never leaves half a file behind.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import Field

from syncline.connectors.file.storage import Store
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.plugin.errors import WriteError
from syncline.plugin.specs import BatchSpec
from syncline.schema import temporal
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.table import Table
from syncline.schema.types import JSONType, UUIDType
from syncline.writers.values import (
    json_dumps,
    json_float,
    map_columns,
    text_to_uuid,
    uuid_to_text,
    warn_far_times,
)


class FileFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"
    JSON = "json"


class FileSpec(BatchSpec):
    directory: str = Field(
        description="Folder the files are written under: a local path, s3://bucket/prefix "
        "or gs://bucket/prefix."
    )
    endpoint_url: str = Field(
        "",
        description="Object storage endpoint, e.g. http://127.0.0.1:9000 (default: "
        "AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for s3://, STORAGE_EMULATOR_HOST for gs://).",
    )
    format: FileFormat = Field(FileFormat.PARQUET, description="parquet, csv or json (lines).")
    path: str = Field(
        "{{TABLE}}/{{UUID}}.{{FORMAT}}",
        description="File path under directory; placeholders {{TABLE}}, {{UUID}}, {{FORMAT}}, "
        "{{SYNC_ID}}, {{YEAR}}, {{MONTH}}, {{DAY}}, {{HOUR}}, {{MINUTE}}.",
    )
    batch_size: int = Field(100_000, ge=1, description="Rows per file.")
    batch_size_bytes: int = Field(100 * 1024 * 1024, ge=1, description="Arrow bytes per file.")


def _safe_table_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or "\x00" in name or name in (".", ".."):
        raise WriteError(f"table name {name!r} cannot be used in a file path")
    return name


class FileDestination:
    def __init__(self, spec: FileSpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.limits: BatchLimits = spec.limits()
        self.store = Store(spec.directory, spec.endpoint_url)
        if "{{UUID}}" not in spec.path:
            raise WriteError(
                f"destination {ctx.name}: path must contain {{{{UUID}}}} so each batch "
                "gets its own file"
            )
        if not ctx.no_connection:
            self.store.create_root()

    def test_connection(self) -> None:
        self.store.probe()

    def close(self) -> None:
        return None

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        for t in tables:
            _safe_table_name(t.name)  # files carry their own schema; nothing to create

    def _path(self, table: str) -> str:
        now = datetime.now(UTC)
        values = {
            "TABLE": _safe_table_name(table),
            "UUID": str(uuid.uuid4()),
            "FORMAT": self.spec.format.value,
            "SYNC_ID": self.ctx.invocation_id or "sync",
            "YEAR": f"{now.year:04d}",
            "MONTH": f"{now.month:02d}",
            "DAY": f"{now.day:02d}",
            "HOUR": f"{now.hour:02d}",
            "MINUTE": f"{now.minute:02d}",
        }
        rel = self.spec.path
        for k, v in values.items():
            rel = rel.replace("{{" + k + "}}", v)
        try:
            return self.store.join(rel)
        except WriteError as e:
            raise WriteError(f"destination {self.ctx.name}: {e}") from None

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        where = f"destination {self.ctx.name}: table {table.name}"
        if self.spec.format is FileFormat.PARQUET:
            warn_far_times(
                record,
                self.ctx.logger,
                where,
                "written as they are; infinities as the extreme int64/int32 values",
            )
            return record  # Parquet keeps Arrow types, extension types included
        warn_far_times(
            record, self.ctx.logger, where, "written as text ('infinity', '-infinity' or the year)"
        )
        return map_columns(record, _to_text_friendly)

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        if not records:
            return
        data = pa.Table.from_batches(records)
        path = self._path(table.name)
        out = pa.BufferOutputStream()
        if self.spec.format is FileFormat.PARQUET:
            pq.write_table(data, out)
        elif self.spec.format is FileFormat.CSV:
            pacsv.write_csv(data, out)
        else:
            for row in data.to_pylist():
                out.write((json_dumps(row, default=_json_default) + "\n").encode())
        try:
            self.store.put(path, out.getvalue())
        except WriteError as e:
            raise WriteError(f"destination {self.ctx.name}: {e}") from None

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> None:
        raise WriteError(f"destination {self.ctx.name}: files are append only")

    def delete_record(self, table: Table, where: Mapping[str, Any]) -> None:
        raise WriteError(f"destination {self.ctx.name}: files are append only")

    def has_rows(self, table: Table) -> bool:
        """Whether a file of the table holds a row (checked before trusting a cursor)."""
        return any(b.num_rows for b in self.read(table))

    def read(self, table: Table) -> Iterator[pa.RecordBatch]:
        """Every file of the table (Parquet keeps types; CSV and JSON are converted back)."""
        folder = _safe_table_name(table.name)
        schema = to_arrow_schema(table)
        for path in self.store.files(folder, f".{self.spec.format.value}"):
            f = pa.BufferReader(self.store.read(path))
            if self.spec.format is FileFormat.PARQUET:
                data = pq.read_table(f)
                data = data.select(schema.names)
                yield from (
                    pa.RecordBatch.from_arrays(b.columns, schema=schema) for b in data.to_batches()
                )
                continue
            if self.spec.format is FileFormat.CSV:
                text = pacsv.read_csv(
                    f,
                    # The writer quotes an empty string and leaves a null empty.
                    convert_options=pacsv.ConvertOptions(
                        column_types={n: pa.utf8() for n in schema.names},
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=False,
                    ),
                )
                rows = text.to_pylist()
            else:
                lines = f.read().decode("utf-8").splitlines()
                rows = [json.loads(line) for line in lines]
            yield _rows_from_text(schema, rows)


def _to_text_friendly(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if isinstance(arr.type, UUIDType):
        return uuid_to_text(arr)
    if isinstance(arr.type, JSONType):
        return arr.storage.cast(pa.utf8())
    if temporal.is_temporal(arr.type) and temporal.outside_common_range(arr).any():
        return temporal.to_text(arr)  # Python's datetime (and Arrow's text) stop at year 9999
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        return pc.binary_join_element_wise(pa.scalar("base64:"), _b64(arr), pa.scalar(""))
    if pa.types.is_nested(arr.type):
        return pa.array(
            [None if v is None else json_dumps(v, _json_default) for v in arr.to_pylist()],
            pa.utf8(),
        )
    return arr


def _b64(arr: pa.Array) -> pa.Array:
    import base64

    return pa.array(
        [None if v is None else base64.b64encode(v).decode() for v in arr.to_pylist()], pa.utf8()
    )


def _json_default(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v)


def _rows_from_text(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    import base64

    arrays = []
    for f in schema:
        values = [r.get(f.name) for r in rows]
        values = [None if v == "" and not pa.types.is_string(f.type) else v for v in values]
        if isinstance(f.type, UUIDType):
            arrays.append(text_to_uuid(pa.array(values, pa.utf8())))
        elif isinstance(f.type, JSONType):
            storage = pa.array(values, pa.utf8()).cast(pa.binary())
            arrays.append(pa.ExtensionArray.from_storage(f.type, storage))
        elif pa.types.is_binary(f.type):
            arrays.append(
                pa.array(
                    [None if v is None else base64.b64decode(v[len("base64:") :]) for v in values],
                    f.type,
                )
            )
        elif pa.types.is_nested(f.type):
            nested = [None if v is None else json_float(json.loads(v)) for v in values]
            arrays.append(pa.array(nested, f.type))
        elif temporal.is_temporal(f.type):
            arrays.append(temporal.from_text(pa.array(values, pa.utf8()), f.type))
        elif pa.types.is_floating(f.type):
            floats = [None if v is None else float(json_float(v)) for v in values]
            arrays.append(pa.array(floats, f.type))
        else:
            arrays.append(pa.array([_as_text(v) for v in values], pa.utf8()).cast(f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _as_text(value: Any) -> str | None:
    """JSON lines keep numbers and booleans as such; CSV gives text. Casting wants text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)  # true/false, 12, 1.5, NaN, Infinity: all cast back exactly
