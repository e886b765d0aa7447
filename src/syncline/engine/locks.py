"""One sync at a time per source and state table, on this machine (an advisory file lock).

Two overlapping runs would race on the same cursors; the second one fails fast instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

from syncline.plugin.errors import SynclineError


class SyncLock:
    def __init__(self, source: str, backend: str, table: str, folder: str | None = None) -> None:
        # The working directory is part of the key: relative paths in specs resolve against it.
        key = f"{source}\0{backend}\0{table}\0{os.getcwd()}"
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
