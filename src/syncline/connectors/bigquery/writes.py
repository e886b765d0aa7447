"""The two ways rows reach BigQuery: streaming inserts and Parquet load jobs.

Streaming (``tabledata.insertAll``) serves the batches a sync usually sends: no job, rows are
queryable at once. Requests stay within BigQuery's limits (10 MB and 50,000 rows; we cut at
9 MiB to leave room for the envelope). Every row carries an insert id fixed before the first
attempt, so a request the client retries (a timeout, a 5xx) is not stored twice.

A batch larger than one request may carry (50,000 rows) goes through one Parquet load job
instead: one job per batch where streaming would need several requests. BigQuery allows 1,500
load jobs per table per day, so a table takes 75 million rows a day through jobs before that
quota matters; smaller batches (CloudQuery's default is 10,000 rows) never use a job. A job
BigQuery refuses for its quota loaded nothing, so that batch is streamed instead.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from google.api_core.exceptions import GoogleAPICallError
from google.cloud import bigquery

from syncline.connectors.bigquery.client import api_message
from syncline.connectors.bigquery.types import json_rows
from syncline.plugin.errors import WriteError

MAX_REQUEST_ROWS = 50_000
MAX_REQUEST_BYTES = 9 * 1024 * 1024
LOAD_JOB_MIN_ROWS = MAX_REQUEST_ROWS + 1
# Per-row bytes of the request envelope around a row: the insert id and JSON punctuation.
_ROW_OVERHEAD = 64
_QUOTA_REASONS = frozenset({"quotaExceeded", "rateLimitExceeded"})


class LoadQuotaExceeded(Exception):
    """BigQuery refused a load job for its quota; the job loaded nothing."""


@dataclass(frozen=True)
class Target:
    """Where one write goes, and what to call it in error messages."""

    client: bigquery.Client
    table: bigquery.TableReference
    destination: str

    def error(self, text: str) -> WriteError:
        return WriteError(f"destination {self.destination}: table {self.table.table_id}: {text}")


def use_load_job(rows: int) -> bool:
    return rows >= LOAD_JOB_MIN_ROWS


def insert_all(target: Target, data: pa.Table) -> None:
    """Stream the rows in requests within BigQuery's limits; any rejected row fails the write."""
    rows = [row for batch in data.to_batches() for row in json_rows(batch)]
    prefix = uuid.uuid4().hex
    ids = [f"{prefix}-{i}" for i in range(len(rows))]
    for start, stop in _requests(rows):
        try:
            errors = target.client.insert_rows_json(
                target.table, rows[start:stop], row_ids=ids[start:stop]
            )
        except GoogleAPICallError as e:
            raise target.error(f"insertAll failed: {api_message(e)}") from e
        if errors:
            raise target.error(_rejected(errors, start))


def _requests(rows: list[dict[str, Any]]) -> Iterator[tuple[int, int]]:
    start, size = 0, 0
    for i, row in enumerate(rows):
        row_size = len(json.dumps(row, default=str)) + _ROW_OVERHEAD
        if row_size > MAX_REQUEST_BYTES:
            raise WriteError(
                f"row {i} is {row_size} bytes as JSON, over BigQuery's streaming limit; "
                f"send it in a batch of {LOAD_JOB_MIN_ROWS} rows or more (a load job)"
            )
        if i > start and (i - start >= MAX_REQUEST_ROWS or size + row_size > MAX_REQUEST_BYTES):
            yield start, i
            start, size = i, 0
        size += row_size
    if start < len(rows):
        yield start, len(rows)


def _rejected(errors: Sequence[dict[str, Any]], offset: int) -> str:
    # With skip_invalid_rows off BigQuery marks the valid rows of a bad request "stopped";
    # report the rows that caused it.
    causes = [
        e for e in errors if any(d.get("reason") != "stopped" for d in e.get("errors", []))
    ] or errors
    first = causes[0]
    details = "; ".join(
        f"{d.get('reason', '')}: {d.get('message', '')}"
        + (f" (column {d['location']})" if d.get("location") else "")
        for d in first.get("errors", [])
        if d.get("reason") != "stopped"
    )
    return (
        f"BigQuery rejected {len(causes)} row(s) of an insertAll request, the first "
        f"(row {offset + int(first.get('index', 0))}): {details}"
    )


def load_parquet(target: Target, data: pa.Table, json_columns: Sequence[str] = ()) -> None:
    """One load job appending a Parquet file; the job is atomic, and its id is fixed so a
    retried request cannot start a second copy."""
    if hasattr(pa, "json_"):
        # Parquet's JSON logical type is what BigQuery loads into a JSON column.
        for name in json_columns:
            i = data.schema.get_field_index(name)
            data = data.set_column(i, name, data.column(i).cast(pa.json_(pa.utf8())))
    buffer = io.BytesIO()
    pq.write_table(data, buffer)
    buffer.seek(0)
    options = bigquery.ParquetOptions()
    options.enable_list_inference = True
    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
        parquet_options=options,
    )
    try:
        job = target.client.load_table_from_file(
            buffer,
            target.table,
            job_id=f"syncline_load_{uuid.uuid4().hex}",
            job_config=config,
            size=buffer.getbuffer().nbytes,
        )
        job.result()
    except GoogleAPICallError as e:
        reasons = {err.get("reason") for err in e.errors or [] if isinstance(err, dict)}
        if reasons & _QUOTA_REASONS:
            raise LoadQuotaExceeded(api_message(e)) from e
        raise target.error(f"load job failed: {api_message(e)}") from e
    if job.errors:
        raise target.error(f"load job {job.job_id} failed: {job.errors}")
