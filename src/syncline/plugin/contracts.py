"""The contracts every source, destination and transformer implements, built-in or external."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import pyarrow as pa
from pydantic import BaseModel

from syncline.config.models import WriteMode
from syncline.messages import SyncMessage
from syncline.schema.table import Table

PluginKind = Literal["source", "destination", "transformer"]


@dataclass(frozen=True)
class BackendOptions:
    """A state backend a source reads and writes itself (CloudQuery's BackendOptions): a
    plugin serving protocol v3 at ``connection`` and the table that holds the cursors."""

    table_name: str
    connection: str


@dataclass(frozen=True)
class SyncOptions:
    tables: list[str]
    skip_tables: list[str] = field(default_factory=list)
    skip_dependent_tables: bool = True
    deterministic_cq_id: bool = False
    # (shard number, total shards), 1-based.
    shard: tuple[int, int] | None = None
    # Only for a source whose PluginInfo asks for it (``state_backend``); others read
    # cursors from the StateReader and send new ones as Checkpoint messages.
    backend: BackendOptions | None = None


class StateReader(Protocol):
    """Read access to committed cursors. Sources advance cursors by yielding Checkpoint."""

    def get(self, key: str) -> str | None: ...


class NoState:
    """Used when a source has no backend: every incremental table starts from scratch."""

    def get(self, key: str) -> str | None:
        return None


@runtime_checkable
class SourcePlugin(Protocol):
    def tables(self) -> list[Table]:
        """Every table the source can sync, as trees (relations are children)."""
        ...

    def sync(self, options: SyncOptions, state: StateReader) -> Iterator[SyncMessage]:
        """MigrateTable for each selected table first (parents first), then data."""
        ...

    def test_connection(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BatchLimits:
    rows: int = 10_000
    bytes: int = 10 * 1024 * 1024
    timeout_s: float = 20.0
    # All tables' buffered rows together (Arrow bytes): past it, the oldest buffers are written.
    buffer_bytes: int = 128 * 1024 * 1024


@runtime_checkable
class DestinationPlugin(Protocol):
    limits: BatchLimits

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        """Create or change tables; raise MigrationError for a change unsafe in safe mode."""
        ...

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        """Convert a record of ``table`` to what ``write_batch`` takes (e.g. storage types).

        Called on the engine's thread while an earlier batch is being written.
        """
        ...

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        """Write prepared records in one transaction, durable when this returns.

        Upsert by primary key when the table has one (last row wins), else plain insert.
        """
        ...

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> int | None:
        """Delete rows of ``source_name`` whose ``_cq_sync_time`` is older than ``sync_time``.

        Returns how many rows were deleted, or None when the destination cannot tell.
        """
        ...

    def delete_record(self, table: Table, where: Mapping[str, Any]) -> None: ...

    def read(self, table: Table) -> Iterator[pa.RecordBatch]: ...

    def test_connection(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class LatestReader(Protocol):
    """A destination that reads only each key's newest row in one query, so a state table
    that gains a row per commit (append mode) is not read in full on every sync."""

    def read_latest(
        self, table: Table, key_columns: Sequence[str], version_column: str
    ) -> Iterator[pa.RecordBatch]:
        """Each distinct ``key_columns``' rows of the highest ``version_column`` (null counts
        as 0), in the order written: one per key unless versions tie, when the reader keeps
        the last. Nothing when the table does not exist."""
        ...


@runtime_checkable
class TransformerPlugin(Protocol):
    """Changes schemas and records on their way to one destination (CloudQuery's Transform).

    Works on Arrow schemas with CloudQuery's metadata, as on the wire, so a built-in and an
    external transformer behave the same.
    """

    def transform_schema(self, schema: pa.Schema) -> pa.Schema:
        """The schema records of this table will have after ``transform``."""
        ...

    def transform(self, record: pa.RecordBatch) -> pa.RecordBatch:
        """The changed record (it may have fewer rows, or none)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PluginContext:
    name: str
    invocation_id: str = ""
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("syncline.plugin"))
    # True for commands that only need table definitions (tables, migrate).
    no_connection: bool = False


SourceFactory = Callable[[Any, PluginContext], SourcePlugin]
DestinationFactory = Callable[[Any, PluginContext], DestinationPlugin]
TransformerFactory = Callable[[Any, PluginContext], TransformerPlugin]


@dataclass(frozen=True, kw_only=True)
class _Info:
    path: str  # e.g. cloudquery/sqlite: the name configs use
    spec_model: type[BaseModel]  # validates the plugin's nested ``spec``
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class SourceInfo(_Info):
    """What the registry knows of a source; ``factory(spec, ctx)`` creates one."""

    kind: ClassVar[PluginKind] = "source"
    factory: SourceFactory
    # True for a source that reads and writes its cursors itself through a state backend
    # (as CloudQuery plugins do): the engine serves it one (SyncOptions.backend) that holds
    # each write back until the rows before it are durable.
    state_backend: bool = False


@dataclass(frozen=True, kw_only=True)
class DestinationInfo(_Info):
    """What the registry knows of a destination; ``factory(spec, ctx)`` creates one."""

    kind: ClassVar[PluginKind] = "destination"
    factory: DestinationFactory
    write_modes: frozenset[WriteMode] = frozenset(WriteMode)
    # False where only one process at a time can write (an embedded single-writer file):
    # sharded runs in several processes refuse such a destination.
    multi_process_writes: bool = True


@dataclass(frozen=True, kw_only=True)
class TransformerInfo(_Info):
    """What the registry knows of a transformer; ``factory(spec, ctx)`` creates one."""

    kind: ClassVar[PluginKind] = "transformer"
    factory: TransformerFactory


PluginInfo = SourceInfo | DestinationInfo | TransformerInfo
