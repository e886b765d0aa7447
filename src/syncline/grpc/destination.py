"""Drive an external destination plugin (``registry: grpc`` or ``local``) over protocol v3.

Inserts go on one Write stream kept open across batches (``grpc.write_stream``); every other
operation ends it first, so the plugin sees everything in the order the engine sent it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import grpc
import pyarrow as pa
from cloudquery.plugin_v3 import plugin_pb2

from syncline.config.models import Registry
from syncline.grpc.client import ExternalSpec, _call, _External, log
from syncline.grpc.coalesce import larger_batches
from syncline.grpc.ipc import record_bytes, record_from_bytes, table_bytes
from syncline.grpc.write_stream import OpenWrite, StreamEndedError
from syncline.plugin.contracts import BatchLimits, PluginContext
from syncline.plugin.errors import SynclineError, WriteError
from syncline.plugin.specs import parse_duration
from syncline.schema.table import Table

# Rows the engine gathers before sending them on the open Write stream ...
SEND_LIMITS = BatchLimits(rows=10_000, bytes=8 * 1024 * 1024)
# ... and the rows or bytes after which it ends that stream. The plugin commits by its own
# batch_size inside a stream (so it writes while more arrives) and the call returns once
# everything in it is committed, which is when the engine counts those rows durable. A flush,
# the batch timeout, or any other operation on the destination also ends it.
STREAM_ROWS = 500_000
STREAM_BYTES = 512 * 1024 * 1024
# Record bytes per insert message: small enough that the plugin starts on the first message
# while the next are encoded and sent, large enough that per-message costs stay small.
MESSAGE_BYTES = 4 * 1024 * 1024


class ExternalDestination(_External):
    def __init__(
        self, registry: Registry, path: str, spec: ExternalSpec, ctx: PluginContext
    ) -> None:
        super().__init__("destination", registry, path, spec, ctx)
        timeout = getattr(spec, "batch_timeout", None)
        self.limits = BatchLimits(
            SEND_LIMITS.rows,
            SEND_LIMITS.bytes,
            parse_duration(timeout) if timeout is not None else SEND_LIMITS.timeout_s,
        )
        self._lock = threading.RLock()
        self._open: OpenWrite | None = None

    def send_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> bool:
        """Send rows on the open Write stream (opened if none is); True if the stream was
        then ended, so everything sent is committed."""
        with self._lock:
            if self._open is None:
                _call(self.name, "Write", operation="insert stream")
                self._open = OpenWrite(self.stub.Write.future)
            stream = self._open
            try:
                for r in larger_batches(records, MESSAGE_BYTES):
                    request = plugin_pb2.Write.Request(
                        insert=plugin_pb2.Write.MessageInsert(record=record_bytes(r))
                    )
                    stream.send(request, r.num_rows, r.nbytes)
            except (grpc.RpcError, StreamEndedError) as e:
                self._open = None
                raise WriteError(
                    f"destination {self.name}: insert failed: {self._failure(e)}"
                ) from e
            if stream.rows >= STREAM_ROWS or stream.bytes >= STREAM_BYTES:
                self.commit()
                return True
            return False

    def commit(self) -> None:
        """End the open Write stream; returns once the plugin has committed all of it."""
        with self._lock:
            stream, self._open = self._open, None
            if stream is None:
                return
            try:
                stream.end()
            except grpc.RpcError as e:
                raise WriteError(f"destination {self.name}: insert failed: {self._why(e)}") from e

    def _failure(self, e: Exception) -> str:
        return self._why(e) if isinstance(e, grpc.RpcError) else str(e)

    def close(self) -> None:
        try:
            self.commit()  # rows sent before a failure are kept, as a finished batch is
        except WriteError as e:
            log.warning("%s", e)
        super().close()

    def _write(self, requests: Iterable[Any], what: str) -> None:
        """One Write stream; it returns once the plugin has committed everything in it.
        ``requests`` may be lazy: each message is encoded as the stream takes it."""
        self.commit()  # rows sent on the open stream come first
        _call(self.name, "Write", operation=what)
        failed: list[Exception] = []

        def guarded() -> Iterator[Any]:  # gRPC would hide why a message could not be made
            try:
                yield from requests
            except Exception as e:
                failed.append(e)
                raise

        try:
            with self._lock:
                self.stub.Write(guarded())
        except grpc.RpcError as e:
            if failed:
                raise WriteError(f"destination {self.name}: {what} failed: {failed[0]}") from e
            raise WriteError(f"destination {self.name}: {what} failed: {self._why(e)}") from e

    def migrate_tables(self, tables: Sequence[Table], force: bool) -> None:
        self._write(
            [
                plugin_pb2.Write.Request(
                    migrate_table=plugin_pb2.Write.MessageMigrateTable(
                        table=table_bytes(t), migrate_force=force
                    )
                )
                for t in tables
            ],
            "migrate",
        )

    def prepare(self, table: Table, record: pa.RecordBatch) -> pa.RecordBatch:
        return record

    def write_batch(self, table: Table, records: Sequence[pa.RecordBatch]) -> None:
        self._write(
            (
                plugin_pb2.Write.Request(
                    insert=plugin_pb2.Write.MessageInsert(record=record_bytes(r))
                )
                for r in larger_batches(records, MESSAGE_BYTES)
            ),
            "insert",
        )

    def delete_stale(self, table: Table, source_name: str, sync_time: datetime) -> None:
        msg = plugin_pb2.Write.MessageDeleteStale(
            source_name=source_name, table_name=table.name, table=table_bytes(table)
        )
        msg.sync_time.FromDatetime(sync_time)
        self._write([plugin_pb2.Write.Request(delete=msg)], "delete stale")

    def delete_record(self, table: Table, where: Mapping[str, Any]) -> None:
        predicates = []
        for column, value in where.items():
            col = table.column(column)
            arr = pa.array([value], col.type if col is not None else None)
            predicates.append(
                plugin_pb2.Predicate(
                    operator=plugin_pb2.Predicate.EQ,
                    column=column,
                    record=record_bytes(pa.record_batch({column: arr})),
                )
            )
        msg = plugin_pb2.Write.MessageDeleteRecord(
            table_name=table.name,
            where_clause=[plugin_pb2.PredicatesGroup(predicates=predicates)],
        )
        self._write([plugin_pb2.Write.Request(delete_record=msg)], "delete record")

    def read(self, table: Table) -> Iterator[pa.RecordBatch]:
        _call(self.name, "Read", table=table.name)
        self.commit()
        try:
            for resp in self.stub.Read(plugin_pb2.Read.Request(table=table_bytes(table))):
                yield record_from_bytes(resp.record)
        except grpc.RpcError as e:
            raise SynclineError(f"destination {self.name}: read failed: {self._why(e)}") from e
