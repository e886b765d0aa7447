"""The BigQuery destination: append only, streaming inserts or Parquet load jobs."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
from google.api_core.exceptions import GoogleAPICallError, NotFound, RetryError
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_RETRY

from syncline.connectors.bigquery.client import api_message, ensure_dataset, make_client
from syncline.connectors.bigquery.spec import BigQuerySpec, TimePartitioning
from syncline.connectors.bigquery.types import (
    bigquery_type,
    column_field,
    from_bigquery,
    shape_of,
    to_bigquery,
)
from syncline.connectors.bigquery.writes import (
    LoadQuotaExceeded,
    Target,
    insert_all,
    load_parquet,
    use_load_job,
)
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.plugin.errors import MigrationError, WriteError
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.diff import ColumnShape
from syncline.schema.internal import CQ_SYNC_TIME
from syncline.schema.table import Table
from syncline.writers.migrate import Action, Plan, plan_migrations
from syncline.writers.values import map_columns

# Letters, digits, underscores, dashes and spaces: names BigQuery takes for tables. Anything
# else (quotes, semicolons, slashes) is refused before any request.
_TABLE_NAME = re.compile(r"^[\w\- ]{1,1024}$")


class BigQueryDestination:
    def __init__(self, spec: BigQuerySpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.limits: BatchLimits = spec.limits()
        self._client: bigquery.Client | None = None
        self._dataset_ready = False

    def _connect(self) -> bigquery.Client:
        if self._client is None:
            self._client = make_client(self.spec, self.ctx.name)
        return self._client

    def _bq(self) -> bigquery.Client:
        self._connect()
        assert self._client is not None
        if not self._dataset_ready:
            ensure_dataset(self._client, self.spec, self.ctx.name)
            self._dataset_ready = True
        return self._client

    def _dataset(self) -> bigquery.DatasetReference:
        return bigquery.DatasetReference(self.spec.project_id, self.spec.dataset_id)

    def _ref(self, name: str) -> bigquery.TableReference:
        return self._dataset().table(name)

    def test_connection(self) -> None:
        """Reach the dataset (or learn it is missing: a sync creates it) within a minute."""
        try:
            self._connect().get_dataset(
                self._dataset(), retry=DEFAULT_RETRY.with_deadline(60), timeout=20
            )
        except NotFound:
            return
        except (GoogleAPICallError, RetryError) as e:
            raise WriteError(f"destination {self.ctx.name}: {e}") from e

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- schema ----------------------------------------------------------------------------

    def _existing(self, name: str) -> list[ColumnShape]:
        try:
            table = self._bq().get_table(self._ref(name))
        except NotFound:
            return []
        except GoogleAPICallError as e:
            raise WriteError(f"destination {self.ctx.name}: table {name}: {api_message(e)}") from e
        return [ColumnShape(f.name, shape_of(f), False, False) for f in table.schema]

    @staticmethod
    def _wanted(table: Table) -> list[ColumnShape]:
        return [ColumnShape(c.name, shape_of(column_field(c)), False, False) for c in table.columns]

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        for t in tables:
            if not _TABLE_NAME.match(t.name):
                raise MigrationError(
                    f"destination {self.ctx.name}: {t.name!r} is not a valid BigQuery table name"
                )
        plans = plan_migrations(
            self.ctx.name, tables, self._wanted, lambda t: self._existing(t.name), force
        )
        for plan in plans:
            try:
                self._apply(plan)
            except GoogleAPICallError as e:
                raise MigrationError(
                    f"destination {self.ctx.name}: table {plan.table.name}: {api_message(e)}"
                ) from e

    def _apply(self, plan: Plan) -> None:
        client = self._bq()
        ref = self._ref(plan.table.name)
        if plan.action is Action.RECREATE:
            client.delete_table(ref, not_found_ok=True)
        if plan.action in (Action.CREATE, Action.RECREATE):
            table = bigquery.Table(ref, schema=[column_field(c) for c in plan.table.columns])
            table.description = plan.table.description or None
            if self.spec.time_partitioning is not TimePartitioning.NONE and plan.table.column(
                CQ_SYNC_TIME
            ):
                table.time_partitioning = bigquery.TimePartitioning(
                    type_=self.spec.time_partitioning.value.upper(), field=CQ_SYNC_TIME
                )
            client.create_table(table)
        elif plan.action is Action.ALTER:
            # New columns go at the end, NULLABLE; BigQuery keeps the rows already there.
            table = client.get_table(ref)
            new = {s.name for s in plan.add}
            added = [column_field(c) for c in plan.table.columns if c.name in new]
            table.schema = [*table.schema, *added]
            client.update_table(table, ["schema"])

    # -- data ------------------------------------------------------------------------------

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        return map_columns(record, to_bigquery)

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        if not records:
            return
        data = pa.Table.from_batches(records)
        if data.num_rows == 0:
            return
        target = Target(self._bq(), self._ref(table.name), self.ctx.name)
        if use_load_job(data.num_rows):
            json_columns = [c.name for c in table.columns if bigquery_type(c.type) == "JSON"]
            try:
                load_parquet(target, data, json_columns)
                return
            except LoadQuotaExceeded as e:
                self.ctx.logger.warning(
                    "destination %s: table %s: load job refused (%s); streaming the batch",
                    self.ctx.name,
                    table.name,
                    e,
                )
        insert_all(target, data)

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> None:
        raise WriteError(f"destination {self.ctx.name}: BigQuery is append only")

    def delete_record(self, table: Table, where: Mapping[str, Any]) -> None:
        raise WriteError(f"destination {self.ctx.name}: BigQuery is append only")

    def read(self, table: Table) -> Iterator[pa.RecordBatch]:
        """Every row of the table (a query, so rows still in the streaming buffer count)."""
        if not self._existing(table.name):
            return
        ref = self._ref(table.name)
        columns = ", ".join(f"`{c}`" for c in table.column_names)
        sql = f"SELECT {columns} FROM `{ref.project}.{ref.dataset_id}.{ref.table_id}`"
        try:
            data = self._bq().query(sql).to_arrow(create_bqstorage_client=False)
        except GoogleAPICallError as e:
            raise WriteError(
                f"destination {self.ctx.name}: table {table.name}: {api_message(e)}"
            ) from e
        if data.num_rows == 0:
            return
        schema = to_arrow_schema(table)
        arrays = [from_bigquery(data.column(f.name), f.type) for f in schema]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)
