"""A SQLite connection through ADBC's low-level API, with the few cursor calls the destination uses.

ADBC's DB-API module imports ``pyarrow.dataset`` on import, and that imports pandas where it is
installed: about half a second before the first statement of every sync. The low-level API runs
the same driver and statements without it. Errors are ADBC's own (``adbc_driver_manager.Error``
and its subclasses), as through the DB-API module.

Statements run as plain calls. The DB-API wraps each in ADBC's own SIGINT handler, which on
the main thread replaces the process's handler while a statement runs and, where the driver
has nothing to cancel, swallows the signal: a Ctrl-C that lands during a state commit would be
lost, and the sync would run on to the end instead of stopping after the rows already read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import adbc_driver_sqlite
import pyarrow as pa
from adbc_driver_manager import AdbcConnection, AdbcDatabase, AdbcStatement

from syncline.schema.arrays import one_value


class Cursor:
    """One statement at a time; a query's whole result is read when it runs (results are small)."""

    def __init__(self, conn: AdbcConnection) -> None:
        self._stmt = AdbcStatement(conn)
        self._result: pa.Table | None = None
        self._next = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._stmt.set_sql_query(sql)
        if params:
            names = [str(i) for i in range(len(params))]
            self._stmt.bind(pa.record_batch([one_value(p) for p in params], names=names))
        handle, _ = self._stmt.execute_query()
        self._result = pa.RecordBatchReader.from_stream(handle).read_all()
        self._next = 0

    def executemany(self, sql: str, data: pa.Table) -> None:
        """The statement once per row of ``data``, bound as an Arrow stream."""
        self._result = None
        if data.num_rows == 0:
            return
        self._stmt.set_sql_query(sql)
        self._stmt.prepare()
        self._stmt.bind_stream(data)
        self._stmt.execute_update()

    def fetch_arrow_table(self) -> pa.Table:
        if self._result is None:
            raise RuntimeError("no result: run a query first")
        rest = self._result.slice(self._next)
        self._next = self._result.num_rows
        return rest

    def fetchall(self) -> list[tuple[Any, ...]]:
        # by column: a result may repeat a column name
        return list(zip(*(c.to_pylist() for c in self.fetch_arrow_table().columns), strict=True))

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._result is None:
            raise RuntimeError("no result: run a query first")
        if self._next >= self._result.num_rows:
            return None
        row = tuple(c[self._next].as_py() for c in self._result.columns)
        self._next += 1
        return row

    def close(self) -> None:
        self._result = None
        self._stmt.close()


class Connection:
    """A database file opened with autocommit off: work commits on ``commit()``."""

    def __init__(self, path: str) -> None:
        self._db: AdbcDatabase = adbc_driver_sqlite.connect(path)
        try:
            self._conn = AdbcConnection(self._db)
        except BaseException:
            self._db.close()
            raise
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
        self._conn.close()
        self._db.close()
