"""A few reused connections: opening one costs far more than reading a small table.

The ADBC driver reads the server's type catalog on every connect (tens to hundreds of ms), so
a connection per table made the cost per table that of a connect. Connections are opened on
demand, at most one per reading thread, kept for the whole sync and closed with the source.
Statements go through ADBC's low-level API (``writers.adbc_session`` says why).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import adbc_driver_postgresql

from syncline.writers.adbc_session import Connection


def open_connection(url: str) -> Connection:
    """One autocommit connection: each read its own statement, no transaction left open."""
    return Connection(adbc_driver_postgresql.connect(url), autocommit=True)


class ConnectionPool:
    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self.opened = 0

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for one read; one that failed is closed rather than reused."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
            with self._lock:
                self.opened += 1
        try:
            yield conn
        except BaseException:
            _close_quietly(conn)
            raise
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)


def _close_quietly(conn: Connection) -> None:
    with contextlib.suppress(Exception):  # a broken connection has nothing left to release
        conn.close()
