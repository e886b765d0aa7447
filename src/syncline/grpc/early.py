"""Listen first, serve once ready.

CloudQuery's CLI gives a plugin it starts a few seconds to accept connections, and restarts
it otherwise; importing a plugin (Arrow, drivers) can take longer than that on a busy
machine. So the server binds with stand-ins that hold each call until the real servicer is
in place. Only grpc and the protocol stubs are imported here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc

from syncline.grpc.transport import bind, new_server


class Deferred:
    """A servicer whose methods wait for the real one (set with ``resolve``)."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._target: Any = None

    def resolve(self, target: Any) -> None:
        self._target = target
        self._ready.set()

    def __getattr__(self, name: str) -> Callable[[Any, Any], Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(request: Any, context: Any) -> Any:
            self._ready.wait()
            return getattr(self._target, name)(request, context)

        return call


def listen(network: str, address: str) -> tuple[grpc.Server, str, Deferred, Deferred]:
    """A started server for protocol v3; returns it, its address, and the plugin and
    discovery stand-ins to resolve."""
    from cloudquery.discovery_v1 import discovery_pb2_grpc
    from cloudquery.plugin_v3 import plugin_pb2_grpc

    server = new_server()
    plugin, discovery = Deferred(), Deferred()
    plugin_pb2_grpc.add_PluginServicer_to_server(plugin, server)
    discovery_pb2_grpc.add_DiscoveryServicer_to_server(discovery, server)
    dial = bind(server, network, address)
    server.start()
    return server, dial, plugin, discovery
