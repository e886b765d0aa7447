"""A small source written with CloudQuery's official Python SDK, served over protocol v3.

Used by tests as an external plugin (``registry: local``): a parent table with a relation,
and an incremental event table whose cursor goes through the SDK's state client.
Spec: ``num_items`` (default 3), ``num_events`` (default 20), ``fail_after_events``
(crash the process after that many events; 0 = never).
"""

from __future__ import annotations

import json
import os
import sys

import pyarrow as pa
from cloudquery.sdk import plugin
from cloudquery.sdk.scheduler import Scheduler, TableResolver
from cloudquery.sdk.schema import Column, Table
from cloudquery.sdk.schema.table import filter_dfs
from cloudquery.sdk.serve import plugin as serve
from cloudquery.sdk.stateclient.stateclient import StateClientBuilder


class Client:
    def __init__(self, spec: dict) -> None:
        self.spec = spec

    def id(self) -> str:
        return "sdk"


DETAILS = Table(
    "sdk_item_details",
    [
        Column("item_id", pa.int64(), primary_key=True),
        Column("n", pa.int64(), primary_key=True),
        Column("detail", pa.string()),
    ],
)
ITEMS = Table(
    "sdk_items",
    [Column("id", pa.int64(), primary_key=True), Column("name", pa.string())],
    relations=[DETAILS],
)
DETAILS.parent = ITEMS
EVENTS = Table(
    "sdk_events",
    [
        Column("id", pa.int64(), primary_key=True, incremental_key=True),
        Column("payload", pa.string()),
    ],
    is_incremental=True,
)


class Details(TableResolver):
    def resolve(self, client, parent_resource):
        pid = parent_resource.item["id"]
        for n in (1, 2):
            yield {"item_id": pid, "n": n, "detail": f"detail-{pid}-{n}"}


class Items(TableResolver):
    def resolve(self, client, parent_resource):
        for i in range(1, client.spec.get("num_items", 3) + 1):
            yield {"id": i, "name": f"item-{i}"}


class Events(TableResolver):
    def resolve(self, client, parent_resource):
        last = int(self.state_client.get_key("sdk_events") or 0)
        total = client.spec.get("num_events", 20)
        fail_after = client.spec.get("fail_after_events", 0)
        for i in range(last + 1, total + 1):
            if fail_after and i > fail_after:
                os._exit(3)  # a crash in the middle of the stream
            yield {"id": i, "payload": f"event-{i}"}
            if i % 5 == 0:
                self.state_client.set_key("sdk_events", str(i))
                self.state_client.flush()
        self.state_client.set_key("sdk_events", str(total))


class SDKSource(plugin.Plugin):
    def __init__(self) -> None:
        super().__init__("sdk-source", "v0.0.1")
        self._spec: dict = {}
        self._scheduler = Scheduler(concurrency=4)

    def init(self, spec: bytes, no_connection: bool = False) -> None:
        self._spec = json.loads(spec or b"{}") or {}

    def get_tables(self, options):
        tables = [ITEMS, EVENTS]
        if options.tables:
            tables = filter_dfs(
                tables, options.tables, options.skip_tables, options.skip_dependent_tables
            )
        return tables

    def sync(self, options):
        state = StateClientBuilder.build(
            backend_options=options.backend_options, checkpoints=self._scheduler.checkpoints
        )
        resolvers = []
        for t in self.get_tables(
            plugin.TableOptions(
                tables=options.tables,
                skip_tables=options.skip_tables,
                skip_dependent_tables=options.skip_dependent_tables,
            )
        ):
            if t.name == "sdk_items":
                resolvers.append(
                    Items(t, child_resolvers=[Details(t.relations[0])] if t.relations else [])
                )
            elif t.name == "sdk_events":
                events = Events(t)
                events.set_state_client(state)
                resolvers.append(events)
        self._scheduler.set_post_sync_hook(state.flush)
        return self._scheduler.sync(Client(self._spec), resolvers, options.deterministic_cq_id)

    def close(self) -> None:
        self._scheduler.shutdown()


if __name__ == "__main__":
    serve.PluginCommand(SDKSource()).run(sys.argv[1:])
