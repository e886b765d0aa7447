"""A state backend served by the engine to an external source.

The source reads cursors from it and may write them to it; the engine decides when writes
become durable (see the engine). Sources that support in-stream checkpoints send cursors on
the sync stream instead, which the engine orders after the data before them.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa
from cloudquery.discovery_v1 import discovery_pb2_grpc
from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc

from syncline.grpc.ipc import record_bytes, record_from_bytes
from syncline.grpc.server import Discovery
from syncline.grpc.transport import bind, new_server
from syncline.schema.arrays import utf8_array


class _StateService(plugin_pb2_grpc.PluginServicer):
    def __init__(
        self,
        read: Callable[[], Mapping[str, str]],
        on_write: Callable[[dict[str, str]], None],
    ) -> None:
        self.read = read
        self.on_write = on_write

    def GetName(self, request: Any, context: Any) -> Any:
        return plugin_pb2.GetName.Response(name="syncline-state")

    def Init(self, request: Any, context: Any) -> Any:
        return plugin_pb2.Init.Response()

    def Close(self, request: Any, context: Any) -> Any:
        return plugin_pb2.Close.Response()

    def Write(self, request_iterator: Iterator[Any], context: Any) -> Any:
        values: dict[str, str] = {}
        for req in request_iterator:
            if req.WhichOneof("message") == "insert":
                for row in record_from_bytes(req.insert.record).to_pylist():
                    values[row["key"]] = row["value"]
        if values:
            self.on_write(values)
        return plugin_pb2.Write.Response()

    def Read(self, request: Any, context: Any) -> Iterator[Any]:
        items = dict(self.read())
        if not items:
            return
        record = pa.record_batch(
            [utf8_array(list(items)), utf8_array(list(items.values()))], names=["key", "value"]
        )
        yield plugin_pb2.Read.Response(record=record_bytes(record))


class StateProxy:
    """Serve ``read``/``on_write`` on a unix socket for the lifetime of one sync."""

    def __init__(
        self,
        read: Callable[[], Mapping[str, str]],
        on_write: Callable[[dict[str, str]], None],
    ) -> None:
        self._dir = tempfile.mkdtemp(prefix="syncline-state-")
        self.server: grpc.Server = new_server(workers=4)
        plugin_pb2_grpc.add_PluginServicer_to_server(_StateService(read, on_write), self.server)
        discovery_pb2_grpc.add_DiscoveryServicer_to_server(Discovery(), self.server)
        self.address = bind(self.server, "unix", str(Path(self._dir) / "state.sock"))
        self.server.start()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self.server.stop(grace=1).wait()
