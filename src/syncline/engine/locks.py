"""One sync at a time per source and state table.

Two overlapping runs would race on the same cursors; the second one fails fast instead. The
lock is keyed on what the state table *is*, not how a config spells it: the absolute path of
a database file (so ``./db.sqlite``, ``db.sqlite`` and a run from another working directory
meet), and for PostgreSQL the server's own address, port and database with schema and table.
A file lock covers this machine; for a PostgreSQL state table an advisory lock in the
database also covers syncs started on other machines.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from syncline.plugin.errors import SynclineError


class SyncLock:
    """An advisory file lock under ``folder``, ``$SYNCLINE_LOCK_DIR`` or the temp folder."""

    def __init__(self, source: str, identity: str, table: str, folder: str | None = None) -> None:
        key = f"{source}\0{identity}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        default = Path(tempfile.gettempdir()) / "syncline-locks"
        where = Path(folder or os.environ.get("SYNCLINE_LOCK_DIR") or default)
        where.mkdir(parents=True, exist_ok=True)
        self.path = where / f"{digest}.lock"
        self.source, self.table = source, table
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        f = self.path.open("a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise SynclineError(
                f"another sync of source {self.source} with state table {self.table} is running "
                f"(lock {self.path})"
            ) from None
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class PostgresLock:
    """A session advisory lock, held on its own connection for the whole sync."""

    def __init__(self, conninfo: str, source: str, schema: str, table: str) -> None:
        import adbc_driver_postgresql

        from syncline.writers.adbc_session import Connection

        self.source, self.table = source, table
        try:
            self._conn = Connection(adbc_driver_postgresql.connect(conninfo), autocommit=False)
        except Exception as e:
            raise SynclineError(f"cannot lock state table {table}: {e}") from e
        cur = self._conn.cursor()
        try:
            cur.execute(
                "SELECT coalesce(host(inet_server_addr()), 'local'), "
                "coalesce(inet_server_port(), 0), current_database()"
            )
            host, port, database = cur.fetchall()[0]
        finally:
            cur.close()
        self.identity = f"postgresql://{host}:{port}/{database}\0{schema}\0{table}"
        # Within the server, whichever address or socket a sync connected through.
        inside = f"syncline\0{source}\0{database}\0{schema}\0{table}"
        digest = hashlib.sha256(inside.encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)

    def acquire(self) -> None:
        cur = self._conn.cursor()
        try:
            cur.execute("SELECT pg_try_advisory_lock($1)", (self._key,))
            locked = bool(cur.fetchall()[0][0])
            self._conn.commit()  # a session lock outlives the transaction; do not idle in one
        finally:
            cur.close()
        if not locked:
            self.close()
            raise SynclineError(
                f"another sync of source {self.source} with state table {self.table} is running "
                "(PostgreSQL advisory lock)"
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing the session releases the lock
            self._conn.close()


def state_table_identity(plugin_path: str, spec: Any, raw: Any) -> tuple[str, str | None]:
    """What identifies a destination's database, and its libpq conninfo if it is PostgreSQL.

    ``spec`` is the destination's validated spec (for built-in plugins), ``raw`` the spec as
    configured (the fallback for plugins whose spec is not known).
    """
    conn = getattr(spec, "connection_string", None)
    if isinstance(conn, str) and plugin_path.rstrip("/").endswith("postgresql"):
        return "", conn
    if isinstance(conn, str):
        return str(Path(conn).expanduser().resolve()), None
    directory = getattr(spec, "directory", None)
    if isinstance(directory, str):
        return str(Path(directory).expanduser().resolve()), None
    return json.dumps(raw, sort_keys=True, default=str) + "\0" + os.getcwd(), None


def lock_state_table(
    source: str, plugin_path: str, spec: Any, raw: Any, table: str, lock_dir: str | None = None
) -> Callable[[], None]:
    """Take every lock for a source's state table; returns how to release them."""
    identity, conninfo = state_table_identity(plugin_path, spec, raw)
    pg: PostgresLock | None = None
    if conninfo is not None:
        pg = PostgresLock(conninfo, source, str(getattr(spec, "schema_name", "public")), table)
        identity = pg.identity
    else:
        identity = f"{identity}\0{table}"
    local = SyncLock(source, identity, table, lock_dir)
    try:
        local.acquire()
        if pg is not None:
            pg.acquire()
    except BaseException:
        local.release()
        if pg is not None:
            pg.close()
        raise

    def release() -> None:
        if pg is not None:
            pg.close()
        local.release()

    return release
