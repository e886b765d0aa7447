"""A connection through ADBC's low-level API, with the few cursor calls syncline's SQL
connectors make: statements with parameters, results as Arrow, bulk ingest.

ADBC's DB-API module imports ``pyarrow.dataset`` on import, and that imports pandas where it is
installed: 0.3 to 0.4 s of CPU in every process that opens a connection. The low-level API runs
the same driver and the same calls (query, prepare, bind, execute) without it. Errors are ADBC's
own (``adbc_driver_manager.Error`` and its subclasses, with ``sqlstate``), as through the DB-API
module.

Statements run as plain calls. The DB-API wraps each in ADBC's own SIGINT handler, which on the
main thread replaces the process's handler while a statement runs: a Ctrl-C then cancels the
statement (a failed write instead of a clean stop) or, where the driver has nothing to cancel,
is lost. Here the signal reaches the process's own handler once the statement returns, and
``cancel_running`` lets a caller cancel the statements running now (a second Ctrl-C).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

import pyarrow as pa
from adbc_driver_manager import (
    INGEST_OPTION_MODE_APPEND,
    AdbcConnection,
    AdbcDatabase,
    AdbcStatement,
    NotSupportedError,
    StatementOptions,
)
from adbc_driver_manager._reader import AdbcRecordBatchReader

from syncline.schema.arrays import one_value

_running: set[AdbcStatement] = set()
_running_lock = threading.Lock()


@contextlib.contextmanager
def _executing(stmt: AdbcStatement) -> Iterator[None]:
    with _running_lock:
        _running.add(stmt)
    try:
        yield
    finally:
        with _running_lock:
            _running.discard(stmt)


def cancel_running() -> int:
    """Ask the servers to cancel every statement running now, on any thread; how many."""
    with _running_lock:
        running = list(_running)
    for stmt in running:
        with contextlib.suppress(Exception):  # finished meanwhile, or a driver that cannot
            stmt.cancel()
    return len(running)


class Cursor:
    """One statement at a time. A statement's result is read when it runs (results are small;
    ``stream`` reads a large one as it comes)."""

    def __init__(self, conn: AdbcConnection) -> None:
        self._stmt = AdbcStatement(conn)
        self._result: pa.Table | None = None
        self._next = 0
        self._reader: pa.RecordBatchReader | None = None  # a stream the caller reads

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        handle = self._run(sql, params)  # held until imported: dropped, it ends the stream
        # ADBC's reader turns an error met while reading into the driver's own error.
        reader = AdbcRecordBatchReader._import_from_c(handle.address)
        try:
            self._result = reader.read_all()
        finally:
            reader.close()

    def stream(self, sql: str, params: Sequence[Any] = ()) -> pa.RecordBatchReader:
        """The query's result as batches, read as they come (until the next statement)."""
        self._reader = pa.RecordBatchReader.from_stream(self._run(sql, params))
        return self._reader

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        self._release()
        self._stmt.set_sql_query(sql)
        with contextlib.suppress(NotSupportedError):  # not every driver prepares
            self._stmt.prepare()
        if params:
            names = [str(i) for i in range(len(params))]
            self._stmt.bind(pa.record_batch([one_value(p) for p in params], names=names))
        with _executing(self._stmt):
            handle, _ = self._stmt.execute_query()
        return handle

    def executemany(self, sql: str, data: pa.Table) -> None:
        """The statement once per row of ``data``, bound as an Arrow stream."""
        self._release()
        if data.num_rows == 0:
            return
        self._stmt.set_sql_query(sql)
        self._stmt.prepare()
        self._stmt.bind_stream(data)
        with _executing(self._stmt):
            self._stmt.execute_update()

    def ingest(
        self, table: str, data: pa.Table, *, db_schema: str | None = None, temporary: bool = False
    ) -> None:
        """Append ``data`` to an existing table with the driver's bulk path (PostgreSQL: COPY)."""
        self._release()
        options: dict[str, str] = {
            StatementOptions.INGEST_TARGET_TABLE.value: table,
            StatementOptions.INGEST_MODE.value: INGEST_OPTION_MODE_APPEND,
        }
        if db_schema is not None:
            options[StatementOptions.INGEST_TARGET_DB_SCHEMA.value] = db_schema
        self._stmt.set_options(**options)
        try:
            temp = "true" if temporary else "false"
            self._stmt.set_options(**{StatementOptions.INGEST_TEMPORARY.value: temp})
        except NotSupportedError:
            if temporary:
                raise
        self._stmt.bind_stream(data)
        with _executing(self._stmt):
            self._stmt.execute_update()

    def fetch_arrow_table(self) -> pa.Table:
        result = self._read()
        rest = result.slice(self._next)
        self._next = result.num_rows
        return rest

    def fetchall(self) -> list[tuple[Any, ...]]:
        # by column: a result may repeat a column name
        return list(zip(*(c.to_pylist() for c in self.fetch_arrow_table().columns), strict=True))

    def fetchone(self) -> tuple[Any, ...] | None:
        result = self._read()
        if self._next >= result.num_rows:
            return None
        row = tuple(c[self._next].as_py() for c in result.columns)
        self._next += 1
        return row

    def _read(self) -> pa.Table:
        if self._result is None:
            raise RuntimeError("no result: run a query first")
        return self._result

    def _release(self) -> None:
        self._result = None
        self._next = 0
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def close(self) -> None:
        self._release()
        self._stmt.close()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Connection:
    """A connection of its own on ``db``, which it closes with itself. With ``autocommit``
    off, work commits on ``commit()``."""

    def __init__(self, db: AdbcDatabase, *, autocommit: bool) -> None:
        self._db = db
        try:
            self._conn = AdbcConnection(db)
        except BaseException:
            db.close()
            raise
        if not autocommit:
            try:
                self._conn.set_autocommit(False)
            except BaseException:
                self.close()
                raise

    def cursor(self) -> Cursor:
        return Cursor(self._conn)

    def commit(self) -> None:
        self._conn.commit()

    def rollback(self) -> None:
        self._conn.rollback()

    def close(self) -> None:
        try:
            self._conn.close()
        finally:
            self._db.close()
