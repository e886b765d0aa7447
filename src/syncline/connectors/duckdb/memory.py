"""DuckDB's memory limit as a budget for cached table blocks, on top of the key indexes.

Without a limit DuckDB keeps every block it wrote in memory, up to 80% of RAM. A table's rows
and its key index each take a block of their own (256 KiB) at every checkpoint, however few
the rows, and a commit of ten or twenty small tables checkpoints already (DuckDB counts their
uncommitted rows as whole blocks against its WAL threshold): at 1,000 small tables that is
over 500 MB of blocks that are on disk already. A limit makes DuckDB drop such blocks (or
spill unwritten ones to a temporary file), so one applies by default (DEFAULT_BUDGET).
Primary-key indexes cannot be dropped: a limit they outgrow fails the commit and invalidates
the database. So the limit applied before each write or delete is the budget plus room for
every index: the index memory in use, what the transaction may add (an index takes memory in
256 KiB buffers, so a few of those per table it touches, and twice the rows it writes), a
generous bound per row of every table with a primary key (for indexes not loaded yet) and a
margin; never more than DuckDB's own limit.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

# Index memory per row of a table with a primary key, with room to spare: about 10 bytes for
# an integer key, the key's length plus node overhead for text keys such as ARNs.
_INDEX_BYTES_PER_ROW = 256
_INDEX_BYTES_PER_TABLE = 2 * 2**20
_MARGIN = 64 * 2**20
DEFAULT_BUDGET = "256MB"
SIZE_PATTERN = r"^\d+(\.\d+)?\s*([KMGT]i?B|B)$"
_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def size_bytes(text: str) -> int:
    """Bytes of a size such as ``256MB`` or ``2GiB`` (matched by SIZE_PATTERN)."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)", text.strip())
    if found is None or found.group(2).upper() not in _UNITS:
        raise ValueError(f"not a size: {text!r}")
    return int(float(found.group(1)) * _UNITS[found.group(2).upper()])


class MemoryLimit:
    def __init__(self, budget: str | None) -> None:
        self.budget = None if budget is None else size_bytes(budget)
        self._ceiling = 0
        self._applied = 0
        self._keyed_rows: int | None = None  # rows of tables with a primary key
        self._tables_since_checkpoint = 0  # tables written since this instance checkpointed

    def apply(self, db: Any, tables: int = 0, incoming: int = 0, keyed_rows: int = 0) -> None:
        """Set DuckDB's limit to the budget plus what the indexes may need once a transaction
        touches ``tables`` tables and writes ``incoming`` Arrow bytes, ``keyed_rows`` rows of
        them into tables with a primary key (no-op without a budget)."""
        if self.budget is None:
            return
        if not self._ceiling:
            with duckdb.connect() as plain:  # a database of its own: DuckDB's defaults
                limit, buffered = plain.sql(
                    "SELECT current_setting('memory_limit'), "
                    "current_setting('write_buffer_row_group_memory_limit')"
                ).fetchall()[0]
            self._ceiling = size_bytes(str(limit))
            # Derived from memory_limit unless set: a low limit would make bulk inserts
            # write their row groups in small pieces.
            db.execute(f"SET write_buffer_row_group_memory_limit = '{size_bytes(buffered)}B'")
            # Blocks dropped under the limit and read again reuse memory DuckDB keeps for
            # them rather than fresh pages (at 1,000 small tables: half the page faults).
            db.execute(f"SET block_allocator_memory = '{self.budget}B'")
        indexes = _index_bytes(db)
        self._tables_since_checkpoint += tables
        if (
            indexes > self.budget
            and self._tables_since_checkpoint * _INDEX_BYTES_PER_TABLE > self.budget
        ):
            # Mostly the buffers of small tables' indexes: a checkpoint writes them out and
            # frees them, where a limit would have to grow with every table written.
            db.execute("CHECKPOINT")
            self._tables_since_checkpoint = tables
            indexes = _index_bytes(db)
        if self._keyed_rows is None:  # read once (slow at many tables), then counted here
            (rows,) = db.execute(
                "SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables() WHERE has_primary_key"
            ).fetchone()
            self._keyed_rows = int(rows)
        self._keyed_rows += keyed_rows
        touched = _INDEX_BYTES_PER_TABLE * tables + 2 * incoming
        room = indexes + touched + _INDEX_BYTES_PER_ROW * self._keyed_rows + _MARGIN
        limit = min(self._ceiling, self.budget + room)
        if limit != self._applied:
            db.execute(f"SET memory_limit = '{limit}B'")
            self._applied = limit


def _index_bytes(db: Any) -> int:
    (indexes,) = db.execute(
        "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'ART_INDEX'"
    ).fetchone()
    return int(indexes)
