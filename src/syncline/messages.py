"""The closed set of messages that flow from sources, through the engine, to destinations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from syncline.schema.table import Table


@dataclass(frozen=True)
class MigrateTable:
    table: Table
    force: bool = False


@dataclass(frozen=True)
class Insert:
    table_name: str
    record: pa.RecordBatch


@dataclass(frozen=True)
class DeleteStale:
    table_name: str
    source_name: str
    sync_time: datetime


@dataclass(frozen=True)
class DeleteRecord:
    """Delete rows of ``table_name`` whose columns equal ``where`` (and their child rows)."""

    table_name: str
    where: dict[str, Any]


@dataclass(frozen=True)
class SyncError:
    """A non-fatal error of one table: counted and reported, the sync goes on."""

    table_name: str
    error: str


@dataclass(frozen=True)
class Checkpoint:
    """A cursor the source has reached; the engine commits it once the data before it is durable."""

    key: str
    value: str


@dataclass(frozen=True)
class TableDone:
    table_name: str
    ok: bool


SyncMessage = MigrateTable | Insert | DeleteRecord | SyncError | Checkpoint | TableDone
