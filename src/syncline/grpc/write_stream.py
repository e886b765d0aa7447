"""One Write call that stays open while batches are sent on it.

The protocol's Write is a client stream with one answer, given at its end once the plugin has
committed everything it received: that answer is the only point at which rows sent to an
external destination are known to be durable. Kept open across many batches, the call lets the
plugin write by its own batch size while more rows arrive, instead of pausing at every batch
to drain, answer and start again; its rows count as durable once ``end`` returns.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable, Iterator
from typing import Any

import grpc

# Messages waiting to be taken by gRPC: enough to keep the plugin busy, few enough that a
# slow plugin holds the engine back (memory stays bounded).
WAITING = 4
_END = object()


class StreamEndedError(Exception):
    """The plugin answered (or the call failed) before the stream was ended."""


class OpenWrite:
    def __init__(self, start: Callable[[Iterator[Any]], grpc.Future]) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=WAITING)
        self._call = start(self._requests())
        self.rows = 0
        self.bytes = 0

    def _requests(self) -> Iterator[Any]:
        while (request := self._queue.get()) is not _END:
            yield request

    def send(self, request: Any, rows: int, nbytes: int) -> None:
        """Queue one message; waits while the plugin is behind. Raises the call's error if
        it ended."""
        while True:
            if self._call.done():
                self._release()
                self._call.result()  # raises grpc.RpcError
                raise StreamEndedError("the plugin answered before the rows were all sent")
            try:
                self._queue.put(request, timeout=0.5)
                break
            except queue.Full:
                continue
        self.rows += rows
        self.bytes += nbytes

    def end(self) -> None:
        """Returns once the plugin has committed everything sent; raises grpc.RpcError."""
        while not self._call.done():
            try:
                self._queue.put(_END, timeout=0.5)
                break
            except queue.Full:
                continue
        try:
            self._call.result()
        finally:
            self._release()

    def _release(self) -> None:
        """Let gRPC's thread that takes the messages finish, whatever state the call is in."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_END)
