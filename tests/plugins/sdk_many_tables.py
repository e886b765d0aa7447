"""A source of many small tables written with CloudQuery's official Python SDK (protocol v3).

The SDK sends one row per insert message. Used by tests and the many-tables benchmark.
Spec: ``num_tables`` (default 1000), ``rows_per_table`` (default 20), ``concurrency``
(default 8). Table ``sdk_t0042`` has rows ``id`` 1..N, ``name`` ``"42-<id>"``, ``v`` id/2.
"""

from __future__ import annotations

import json
import sys

import pyarrow as pa
from cloudquery.sdk import plugin
from cloudquery.sdk.scheduler import Scheduler, TableResolver
from cloudquery.sdk.schema import Column, Table
from cloudquery.sdk.schema.table import filter_dfs
from cloudquery.sdk.serve import plugin as serve


class Client:
    def __init__(self, spec: dict) -> None:
        self.spec = spec

    def id(self) -> str:
        return "sdk-many"


class ManyTable(Table):
    """A table whose Arrow schema is built once: the SDK asks for it for every row."""

    def to_arrow_schema(self) -> pa.Schema:
        schema = self.__dict__.get("_arrow_schema")
        if schema is None:
            schema = self.__dict__["_arrow_schema"] = super().to_arrow_schema()
        return schema


def table(i: int) -> Table:
    return ManyTable(
        f"sdk_t{i:04d}",
        [
            Column("id", pa.int64(), primary_key=True),
            Column("name", pa.string()),
            Column("v", pa.float64()),
        ],
    )


class Rows(TableResolver):
    def __init__(self, t: Table, number: int) -> None:
        super().__init__(t)
        self.number = number

    def resolve(self, client, parent_resource):
        for i in range(1, client.spec.get("rows_per_table", 20) + 1):
            yield {"id": i, "name": f"{self.number}-{i}", "v": i / 2}


class ManyTables(plugin.Plugin):
    def __init__(self) -> None:
        super().__init__("sdk-many-tables", "v0.0.1")
        self._spec: dict = {}
        self._scheduler: Scheduler | None = None

    def init(self, spec: bytes, no_connection: bool = False) -> None:
        self._spec = json.loads(spec or b"{}") or {}
        self._scheduler = Scheduler(concurrency=self._spec.get("concurrency", 8))

    def get_tables(self, options):
        tables = [table(i) for i in range(self._spec.get("num_tables", 1000))]
        if options.tables:
            tables = filter_dfs(
                tables, options.tables, options.skip_tables, options.skip_dependent_tables
            )
        return tables

    def sync(self, options):
        selected = self.get_tables(
            plugin.TableOptions(
                tables=options.tables,
                skip_tables=options.skip_tables,
                skip_dependent_tables=options.skip_dependent_tables,
            )
        )
        resolvers = [Rows(t, int(t.name[len("sdk_t") :])) for t in selected]
        assert self._scheduler is not None
        return self._scheduler.sync(Client(self._spec), resolvers, options.deterministic_cq_id)

    def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown()


if __name__ == "__main__":
    serve.PluginCommand(ManyTables()).run(sys.argv[1:])
