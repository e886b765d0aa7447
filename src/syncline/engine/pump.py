"""Run a source's message iterator in its own thread, behind a bounded queue.

The bound keeps memory flat (the source waits when destinations are slower); the engine can
wake up on a timeout to flush aged batches while a slow source is quiet.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any


class _End:
    pass


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Timeout:
    """Returned by ``get`` when nothing arrived in time."""


TIMEOUT = Timeout()


class Pump:
    def __init__(self, source: Iterator[Any], maxsize: int = 8) -> None:
        self._source = source
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="source-pump", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for msg in self._source:
                if not self._put(msg):
                    break
            else:
                self._put(_End())
        except BaseException as e:  # handed to the engine, which fails the sync
            self._put(_Failed(e))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def get(self, timeout: float) -> Any:
        """The next message, TIMEOUT, or None at the end of the stream. Re-raises source errors."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return TIMEOUT
        if isinstance(item, _End):
            return None
        if isinstance(item, _Failed):
            raise item.error
        return item

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
