"""One connection of the PostgreSQL destination: transactions of our own, retried on a fresh
connection when the failure passes with time. Statements go through ADBC's low-level API
(``writers.adbc_session`` says why)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import adbc_driver_postgresql
from adbc_driver_manager import OperationalError

from syncline.writers.adbc_session import Connection as Session
from syncline.writers.adbc_session import Cursor
from syncline.writers.retry import with_retries

T = TypeVar("T")
# Connection failures, admin shutdowns, deadlocks and serialization failures pass with time.
_TRANSIENT_STATES = ("08", "40001", "40P01", "57P01", "57P02", "57P03", "53300")


def is_transient(e: BaseException, connection_works: Callable[[], bool] = lambda: False) -> bool:
    """Only a transient SQLSTATE, or a failure without one on a connection that is gone.

    The driver reports some client-side failures (a value binary COPY cannot encode) without
    a SQLSTATE, like a broken connection: a connection that still answers tells them apart.
    """
    state = getattr(e, "sqlstate", None) or ""
    if state:
        return any(state.startswith(s) for s in _TRANSIENT_STATES)
    if not isinstance(e, OperationalError | ConnectionError | OSError):
        return False
    return not connection_works()


class Connection:
    def __init__(
        self, dsn: str, attempts: int, retry_delay_s: float, logger: logging.Logger
    ) -> None:
        self._dsn = dsn
        self._attempts = attempts
        self._retry_delay_s = retry_delay_s
        self._logger = logger
        self._conn: Session | None = None
        self._lock = threading.Lock()

    def _connect(self) -> Session:
        if self._conn is None:
            # Transactions are ours (BEGIN ... COMMIT): with the driver's own, a bulk COPY
            # leaves "there is already a transaction in progress" in the server's log.
            self._conn = Session(adbc_driver_postgresql.connect(self._dsn), autocommit=True)
        return self._conn

    def drop(self, _: BaseException | None = None) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                conn.close()

    def close(self) -> None:
        with self._lock:
            self.drop()

    def run(self, work: Callable[[Cursor], T]) -> T:
        """Run ``work(cursor)`` in one transaction, retrying transient failures."""

        def attempt() -> T:
            cur = self._connect().cursor()
            try:
                cur.execute("BEGIN")
                try:
                    result = work(cur)
                except BaseException:
                    with contextlib.suppress(Exception):
                        cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")  # a failed COMMIT ends the transaction itself
                return result
            finally:
                with contextlib.suppress(Exception):
                    cur.close()

        with self._lock:
            return with_retries(
                attempt,
                is_transient=lambda e: is_transient(e, self._works),
                attempts=self._attempts,
                base_delay_s=self._retry_delay_s,
                on_retry=self.drop,
                logger=self._logger,
            )

    def _works(self) -> bool:
        if self._conn is None:
            return False
        try:
            cur = self._conn.cursor()
            try:
                cur.execute("SELECT 1")
                cur.fetchall()
            finally:
                cur.close()
            return True
        except Exception:
            return False
