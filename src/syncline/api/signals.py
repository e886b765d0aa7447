"""SIGINT and SIGTERM during a sync: the first stops it after the rows already read, a second
stops it now.

Python runs a signal handler on the main thread between two bytecodes, so not while the main
thread waits in a database statement (a migration or a cursor commit waiting on a lock). The
first signal may wait for the statement: it asks for a clean stop anyway. A second one must not
wait, so a thread watches the signals as the process receives them (Python's wakeup fd) and,
at the second, asks the server to cancel every statement running; the handler then stops the
sync as soon as the main thread is back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from syncline.engine.settings import StopRequest
from syncline.plugin.errors import SynclineError

_STOPPING = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def handled_signals(
    request: StopRequest, on_signal: Callable[[int], None] | None
) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        raise SynclineError("handle_signals=True needs the main thread")

    def handle(signum: int, frame: Any) -> None:
        if request.is_set():
            raise KeyboardInterrupt  # a second signal: stop now
        if on_signal is not None:
            on_signal(signum)
        request.request(signum)

    previous = {s: signal.signal(s, handle) for s in _STOPPING}
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    watcher = threading.Thread(
        target=_cancel_at_second_signal, args=(read_end,), name="signal-watch", daemon=True
    )
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        for s, handler in previous.items():
            signal.signal(s, handler)
        os.close(write_end)  # the watcher reads the end of the pipe and returns
        watcher.join()
        os.close(read_end)


def _cancel_at_second_signal(read_end: int) -> None:
    seen = 0
    while data := os.read(read_end, 64):
        seen += sum(1 for signum in data if signum in _STOPPING)
        if seen >= 2:
            from syncline.writers.adbc_session import cancel_running

            with contextlib.suppress(Exception):
                cancel_running()
