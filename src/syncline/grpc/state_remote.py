"""A state reader/writer that talks to a destination plugin over gRPC (what a served source
uses when CloudQuery's CLI hands it ``backend_options``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from cloudquery.discovery_v1 import discovery_pb2, discovery_pb2_grpc
from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc

from syncline.grpc.ipc import record_bytes, record_from_bytes, table_bytes
from syncline.grpc.transport import answers, open_channel
from syncline.state.codec import VersionedCursors, state_table


class RemoteState:
    def __init__(self, connection: str, table_name: str) -> None:
        self.channel = open_channel(connection)
        if not answers(self.channel, timeout_s=30):
            self.channel.close()
            raise ConnectionError(f"no plugin answers at {connection}")
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
        self.cursors = VersionedCursors()
        migrate = plugin_pb2.Write.Request(
            migrate_table=plugin_pb2.Write.MessageMigrateTable(table=table_bytes(self.table))
        )
        self.stub.Write(iter([migrate]))
        self.reload()

    def reload(self) -> None:
        read = self.stub.Read(plugin_pb2.Read.Request(table=table_bytes(self.table)))
        self.cursors.load(record_from_bytes(resp.record) for resp in read)

    def get(self, key: str) -> str | None:
        return self.cursors.get(key)

    def items(self) -> dict[str, str]:
        return self.cursors.items()

    def set(self, key: str, value: str) -> None:
        """Write one key now (CloudQuery's model: the source flushes its own state)."""
        self.commit({key: value})

    def commit(self, values: Mapping[str, str | None]) -> None:
        """Write the changed keys in one Write stream; it returns once they are committed."""
        commit = self.cursors.changes(values)
        if commit is None:
            return
        record = commit.record(self.table)

        def requests() -> Iterator[plugin_pb2.Write.Request]:
            yield plugin_pb2.Write.Request(
                insert=plugin_pb2.Write.MessageInsert(record=record_bytes(record))
            )

        self.stub.Write(requests())
        self.cursors.apply(commit)

    def close(self) -> None:
        self.channel.close()
