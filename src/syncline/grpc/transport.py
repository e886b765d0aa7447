"""Channels and servers on unix sockets or TCP, with the protocol's message size limit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import grpc.experimental

log = logging.getLogger("syncline.grpc")

MAX_MESSAGE = 100 * 1024 * 1024
OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
]


def target(address: str) -> str:
    """``unix:///path``, ``unix:/path``, ``/path`` (a socket) or ``host:port``."""
    if address.startswith("unix:"):
        return address
    if address.startswith("/"):
        return f"unix://{address}"
    return address


# A streamed response (Sync, Read) is read on the calling thread, not handed over from a
# channel thread: about a quarter less CPU per message, which counts when a plugin sends one
# row per message.
_CHANNEL_OPTIONS = [*OPTIONS, (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)]


def open_channel(address: str) -> grpc.Channel:
    return grpc.insecure_channel(target(address), options=_CHANNEL_OPTIONS)


def answers(channel: grpc.Channel, timeout_s: float) -> bool:
    """Whether a plugin answers on ``channel`` within ``timeout_s``: a discovery call that
    waits for the connection. Not ``grpc.channel_ready_future``: a channel it has watched
    takes 0.2 s to close (the interval of gRPC's connectivity poll), paid by every plugin a
    sync starts."""
    from cloudquery.discovery_v1 import discovery_pb2, discovery_pb2_grpc

    try:
        discovery_pb2_grpc.DiscoveryStub(channel).GetVersions(
            discovery_pb2.GetVersions.Request(), timeout=timeout_s, wait_for_ready=True
        )
    except grpc.RpcError as e:
        # Any other answer (say, no discovery service) is an answer: the caller's own
        # discovery call says what is wrong.
        return e.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    return True


class _LogCalls(grpc.ServerInterceptor):  # type: ignore[misc]
    """A debug line for every call a client makes to a server of ours."""

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        log.debug("grpc call served", extra={"method": handler_call_details.method})
        return continuation(handler_call_details)


def new_server(workers: int = 16) -> grpc.Server:
    return grpc.server(
        ThreadPoolExecutor(max_workers=workers), options=OPTIONS, interceptors=[_LogCalls()]
    )


def bind(server: grpc.Server, network: str, address: str) -> str:
    """Bind and return the address clients should dial."""
    if network == "unix":
        server.add_insecure_port(f"unix://{address}")
        return f"unix://{address}"
    port = server.add_insecure_port(address)
    host = address.rsplit(":", 1)[0] or "127.0.0.1"
    return f"{host}:{port}"
