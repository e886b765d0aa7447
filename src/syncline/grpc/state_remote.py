"""A state reader/writer that talks to a destination plugin over gRPC (what a served source
uses when CloudQuery's CLI hands it ``backend_options``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import grpc
import pyarrow as pa
from cloudquery.discovery_v1 import discovery_pb2, discovery_pb2_grpc
from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc

from syncline.grpc.ipc import record_bytes, record_from_bytes, table_bytes
from syncline.grpc.transport import open_channel
from syncline.schema.arrow import to_arrow_schema
from syncline.state.client import state_table


class RemoteState:
    def __init__(self, connection: str, table_name: str) -> None:
        self.channel = open_channel(connection)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=30)
        except grpc.FutureTimeoutError:
            self.channel.close()
            raise ConnectionError(f"no plugin answers at {connection}") from None
        versions = list(
            discovery_pb2_grpc.DiscoveryStub(self.channel)
            .GetVersions(discovery_pb2.GetVersions.Request())
            .versions
        )
        if 3 not in versions:
            self.channel.close()
            raise ConnectionError(
                f"the state backend at {connection} speaks protocol versions {versions}, not 3"
            )
        self.stub = plugin_pb2_grpc.PluginStub(self.channel)
        self.table = state_table(table_name)
        self.values: dict[str, tuple[str | None, int]] = {}
        migrate = plugin_pb2.Write.Request(
            migrate_table=plugin_pb2.Write.MessageMigrateTable(table=table_bytes(self.table))
        )
        self.stub.Write(iter([migrate]))
        for resp in self.stub.Read(plugin_pb2.Read.Request(table=table_bytes(self.table))):
            for row in record_from_bytes(resp.record).to_pylist():
                version = row.get("version") or 0
                old = self.values.get(row["key"])
                if old is None or version >= old[1]:
                    self.values[row["key"]] = (row["value"], version)

    def get(self, key: str) -> str | None:
        entry = self.values.get(key)
        return entry[0] if entry else None

    def items(self) -> dict[str, str]:
        return {k: v for k, (v, _) in sorted(self.values.items()) if v is not None}

    def set(self, key: str, value: str) -> None:
        """Write one key now (CloudQuery's model: the source flushes its own state)."""
        self.commit({key: value})

    def commit(self, values: Mapping[str, str | None]) -> None:
        """Write the changed keys in one Write stream; it returns once they are committed."""
        changed = {k: v for k, v in values.items() if self.get(k) != v}
        if not changed:
            return
        keys = sorted(changed)
        versions = [self.values.get(k, (None, 0))[1] + 1 for k in keys]
        record = pa.RecordBatch.from_pydict(
            {
                "key": keys,
                "value": [changed[k] for k in keys],
                "version": pa.array(versions, pa.uint64()),
            },
            schema=to_arrow_schema(self.table),
        )

        def requests() -> Iterator[plugin_pb2.Write.Request]:
            yield plugin_pb2.Write.Request(
                insert=plugin_pb2.Write.MessageInsert(record=record_bytes(record))
            )

        self.stub.Write(requests())
        for k, ver in zip(keys, versions, strict=True):
            self.values[k] = (changed[k], ver)

    def close(self) -> None:
        self.channel.close()
