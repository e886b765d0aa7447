"""A state reader/writer that talks to a destination plugin over gRPC (what a served source
uses when CloudQuery's CLI hands it ``backend_options``)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pyarrow as pa
from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc

from syncline.grpc.ipc import record_bytes, record_from_bytes, table_bytes
from syncline.grpc.transport import open_channel
from syncline.schema.arrow import to_arrow_schema
from syncline.state.client import state_table


class RemoteState:
    def __init__(self, connection: str, table_name: str) -> None:
        self.channel = open_channel(connection)
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

    def set(self, key: str, value: str) -> None:
        """Write one key now (CloudQuery's model: the source flushes its own state)."""
        if self.get(key) == value:
            return
        version = self.values.get(key, (None, 0))[1] + 1
        record = pa.RecordBatch.from_pydict(
            {"key": [key], "value": [value], "version": pa.array([version], pa.uint64())},
            schema=to_arrow_schema(self.table),
        )

        def requests() -> Iterator[plugin_pb2.Write.Request]:
            yield plugin_pb2.Write.Request(
                insert=plugin_pb2.Write.MessageInsert(record=record_bytes(record))
            )

        self.stub.Write(requests())
        self.values[key] = (value, version)

    def close(self) -> None:
        self.channel.close()


__all__ = ["RemoteState", "grpc"]
