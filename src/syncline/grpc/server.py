"""Serve a built-in source, destination or transformer over CloudQuery plugin protocol v3."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import grpc
import pyarrow as pa
from cloudquery.discovery_v1 import discovery_pb2, discovery_pb2_grpc
from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc
from pydantic import ValidationError

from syncline import __version__
from syncline.grpc.ipc import (
    record_bytes,
    record_from_bytes,
    schema_bytes,
    table_bytes,
    table_from_bytes,
)
from syncline.grpc.state_remote import RemoteState
from syncline.messages import Checkpoint, DeleteRecord, Insert, MigrateTable, SyncError
from syncline.plugin.contracts import NoState, PluginContext, PluginInfo, SyncOptions
from syncline.schema.arrow import from_arrow_schema
from syncline.schema.internal import cq_id_as_only_pk
from syncline.schema.selection import select_tables
from syncline.schema.table import Column, Table, flatten
from syncline.writers.batch import BatchWriter

log = logging.getLogger("syncline.grpc.server")


class Discovery(discovery_pb2_grpc.DiscoveryServicer):
    def GetVersions(self, request: Any, context: Any) -> Any:
        return discovery_pb2.GetVersions.Response(versions=[3])


class _RaiseInstead:
    """Stands in for a call context: an abort becomes an exception the caller handles."""

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise RuntimeError(details)


class PluginServer(plugin_pb2_grpc.PluginServicer):
    def __init__(self, info: PluginInfo) -> None:
        self.info = info
        self.plugin: Any = None
        self.name = info.path.rsplit("/", 1)[-1]
        self._lock = threading.Lock()

    # -- metadata ----------------------------------------------------------------------------

    def GetName(self, request: Any, context: Any) -> Any:
        return plugin_pb2.GetName.Response(name=self.name)

    def GetVersion(self, request: Any, context: Any) -> Any:
        return plugin_pb2.GetVersion.Response(version=f"v{__version__}")

    def GetSpecSchema(self, request: Any, context: Any) -> Any:
        schema = self.info.spec_model.model_json_schema()
        return plugin_pb2.GetSpecSchema.Response(json_schema=json.dumps(schema))

    def _create(
        self, spec_json: bytes, no_connection: bool, invocation_id: str, context: Any
    ) -> Any:
        try:
            raw = json.loads(spec_json or b"{}") or {}
            spec = self.info.spec_model.model_validate(raw)
        except (ValueError, ValidationError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid spec: {e}")
        ctx = PluginContext(
            name=self.name,
            invocation_id=invocation_id,
            logger=logging.getLogger(f"syncline.{self.info.kind}.{self.name}"),
            no_connection=no_connection,
        )
        try:
            return self.info.factory(spec, ctx)
        except Exception as e:
            context.abort(grpc.StatusCode.INTERNAL, f"failed to init {self.name}: {e}")

    def Init(self, request: Any, context: Any) -> Any:
        with self._lock:
            if self.plugin is not None:
                self.plugin.close()
            self.plugin = self._create(
                request.spec, request.no_connection, request.invocation_id, context
            )
        return plugin_pb2.Init.Response()

    def _require(self, context: Any, kind: str) -> Any:
        if self.plugin is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "plugin not initialized")
        if self.info.kind != kind:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{self.name} is a {self.info.kind}")
        return self.plugin

    def Close(self, request: Any, context: Any) -> Any:
        with self._lock:
            if self.plugin is not None:
                self.plugin.close()
                self.plugin = None
        return plugin_pb2.Close.Response()

    def TestConnection(self, request: Any, context: Any) -> Any:
        try:
            # A plugin that cannot connect is a failed test, not a failed call.
            plugin = self._create(request.spec, False, "", _RaiseInstead())
            try:
                plugin.test_connection()
            finally:
                plugin.close()
        except Exception as e:
            return plugin_pb2.TestConnection.Response(
                success=False, failure_code="UNKNOWN", failure_description=str(e)
            )
        return plugin_pb2.TestConnection.Response(success=True)

    # -- source ------------------------------------------------------------------------------

    def GetTables(self, request: Any, context: Any) -> Any:
        source = self._require(context, "source")
        tables = source.tables()
        if list(request.tables):
            tables = select_tables(
                tables,
                list(request.tables),
                list(request.skip_tables),
                request.skip_dependent_tables,
            )
        return plugin_pb2.GetTables.Response(tables=[table_bytes(t) for t in flatten(tables)])

    def Sync(self, request: Any, context: Any) -> Iterator[Any]:
        source = self._require(context, "source")
        shard = (request.shard.num, request.shard.total) if request.HasField("shard") else None
        options = SyncOptions(
            tables=list(request.tables),
            skip_tables=list(request.skip_tables),
            skip_dependent_tables=request.skip_dependent_tables,
            deterministic_cq_id=request.deterministic_cq_id,
            shard=shard,
        )
        backend = request.backend
        state: Any = NoState()
        if backend.connection and backend.table_name:
            state = RemoteState(backend.connection, backend.table_name)
        try:
            for msg in source.sync(options, state):
                if isinstance(msg, MigrateTable):
                    # As CloudQuery's SDK: with deterministic ids, _cq_id is the only key.
                    table = msg.table
                    if options.deterministic_cq_id:
                        table = cq_id_as_only_pk(table)
                    yield plugin_pb2.Sync.Response(
                        migrate_table=plugin_pb2.Sync.MessageMigrateTable(table=table_bytes(table))
                    )
                elif isinstance(msg, Insert):
                    yield plugin_pb2.Sync.Response(
                        insert=plugin_pb2.Sync.MessageInsert(record=record_bytes(msg.record))
                    )
                elif isinstance(msg, SyncError) and request.withErrorMessages:
                    yield plugin_pb2.Sync.Response(
                        error=plugin_pb2.Sync.MessageError(
                            table_name=msg.table_name, error=msg.error
                        )
                    )
                elif isinstance(msg, Checkpoint) and isinstance(state, RemoteState):
                    state.set(msg.key, msg.value)
                elif isinstance(msg, DeleteRecord):
                    log.warning(
                        "delete-record messages are not sent over gRPC yet: %s", msg.table_name
                    )
        except Exception as e:
            log.exception("sync failed")
            context.abort(grpc.StatusCode.INTERNAL, f"sync failed: {e}")
        finally:
            if isinstance(state, RemoteState):
                state.close()

    # -- destination -------------------------------------------------------------------------

    def Write(self, request_iterator: Iterator[Any], context: Any) -> Any:
        destination = self._require(context, "destination")
        writer = BatchWriter(self.name, destination, destination.limits)
        tables: dict[str, Table] = {}
        seq = 0
        try:
            for req in request_iterator:
                kind = req.WhichOneof("message")
                if kind == "migrate_table":
                    table = table_from_bytes(req.migrate_table.table)
                    tables[table.name] = table
                    writer.queue_migration([table], req.migrate_table.migrate_force)
                elif kind == "insert":
                    record = record_from_bytes(req.insert.record)
                    table = from_arrow_schema(record.schema)
                    table = tables.get(table.name, table)
                    seq += 1
                    writer.insert(table, record, seq)
                elif kind == "delete":
                    # Deletes may come on a stream of their own, without the migration.
                    d = req.delete
                    table = table_from_bytes(d.table) if d.table else Table(d.table_name, ())
                    table = tables.get(d.table_name or table.name, table)
                    sync_time = d.sync_time.ToDatetime(tzinfo=UTC)
                    writer.delete_stale(table, d.source_name, sync_time)
                elif kind == "delete_record":
                    for group in req.delete_record.where_clause:
                        values = [record_from_bytes(p.record) for p in group.predicates]
                        where = {
                            p.column: v.column(0)[0].as_py()
                            for p, v in zip(group.predicates, values, strict=True)
                        }
                        columns = tuple(
                            Column(p.column, v.schema.field(0).type)
                            for p, v in zip(group.predicates, values, strict=True)
                        )
                        name = req.delete_record.table_name
                        writer.delete_record(tables.get(name, Table(name, columns)), where)
            writer.flush()
        except Exception as e:
            log.exception("write failed")
            context.abort(grpc.StatusCode.INTERNAL, str(e))
        finally:
            writer.close()
        return plugin_pb2.Write.Response()

    def Read(self, request: Any, context: Any) -> Iterator[Any]:
        destination = self._require(context, "destination")
        table = table_from_bytes(request.table)
        for record in destination.read(table):
            yield plugin_pb2.Read.Response(record=record_bytes(record))

    # -- transformer -------------------------------------------------------------------------

    def TransformSchema(self, request: Any, context: Any) -> Any:
        transformer = self._require(context, "transformer")
        with pa.ipc.open_stream(request.schema) as reader:
            schema = reader.schema
        try:
            out = transformer.transform_schema(schema)
        except Exception as e:
            context.abort(grpc.StatusCode.INTERNAL, f"transform schema failed: {e}")
        return plugin_pb2.TransformSchema.Response(schema=schema_bytes(out))

    def Transform(self, request_iterator: Iterator[Any], context: Any) -> Iterator[Any]:
        transformer = self._require(context, "transformer")
        for req in request_iterator:
            try:
                out = transformer.transform(record_from_bytes(req.record))
            except Exception as e:
                context.abort(grpc.StatusCode.INTERNAL, f"transform failed: {e}")
            # Sent even with no rows left, so a client may pair answers with requests.
            yield plugin_pb2.Transform.Response(record=record_bytes(out))


def start(info: PluginInfo, network: str, address: str) -> tuple[grpc.Server, str]:
    from syncline.grpc.early import listen

    server, dial, plugin, discovery = listen(network, address)
    plugin.resolve(PluginServer(info))
    discovery.resolve(Discovery())
    return server, dial
