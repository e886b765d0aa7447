"""Drive an external plugin (``registry: grpc`` or ``local``) as if it were built in."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
from collections.abc import Iterator

import grpc
from cloudquery.discovery_v1 import discovery_pb2, discovery_pb2_grpc
from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc
from pydantic import BaseModel, ConfigDict

from syncline.config.models import Registry
from syncline.grpc.coalesce import InsertCoalescer
from syncline.grpc.ipc import record_from_bytes, table_from_bytes
from syncline.grpc.prestart import take
from syncline.grpc.process import PluginProcess
from syncline.grpc.transport import open_channel
from syncline.messages import (
    Checkpoint,
    DeleteRecord,
    MigrateTable,
    SyncError,
    SyncMessage,
    TableDone,
)
from syncline.plugin.contracts import (
    DestinationInfo,
    PluginContext,
    PluginInfo,
    PluginKind,
    SourceInfo,
    StateReader,
    SyncOptions,
    TransformerInfo,
)
from syncline.plugin.errors import PluginInitError, SynclineError
from syncline.schema.table import Table

PROTOCOL = 3
# A plugin that is serving answers discovery at once; an address that refuses connections
# fails well before this (UNAVAILABLE), one that never answers fails at it.
DISCOVERY_TIMEOUT_S = 30.0

log = logging.getLogger("syncline.grpc")


def _call(plugin: str, method: str, **fields: object) -> None:
    """Debug line for each call to an external plugin (never with its spec)."""
    log.debug("grpc call", extra={"plugin": plugin, "method": method, **fields})


def _protocol_versions(channel: grpc.Channel, kind: str, name: str, address: str) -> list[int]:
    """The protocol versions the plugin at ``address`` speaks; this is also the connect."""
    _call(name, "GetVersions", address=address)
    try:
        response = discovery_pb2_grpc.DiscoveryStub(channel).GetVersions(
            discovery_pb2.GetVersions.Request(), timeout=DISCOVERY_TIMEOUT_S
        )
    except grpc.RpcError as e:
        if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise PluginInitError(
                f"{kind} plugin {name}: cannot connect to {address}: {_details(e)}"
            ) from None
        raise PluginInitError(f"{kind} plugin {name}: discovery failed: {_details(e)}") from None
    versions = list(response.versions)
    if PROTOCOL not in versions:
        raise PluginInitError(
            f"{kind} plugin {name} speaks CloudQuery protocol versions {versions}; "
            f"syncline needs version {PROTOCOL}"
        )
    return versions


class ExternalSpec(BaseModel):
    """An external plugin validates its own spec; anything is passed through as JSON."""

    model_config = ConfigDict(extra="allow")


def _details(e: grpc.RpcError) -> str:
    details = e.details() if hasattr(e, "details") else None
    return str(details or e)


class _External:
    def __init__(
        self,
        kind: PluginKind,
        registry: Registry,
        path: str,
        spec: ExternalSpec,
        ctx: PluginContext,
    ) -> None:
        self.kind, self.name, self.ctx = kind, ctx.name, ctx
        self.spec_json = json.dumps(spec.model_dump()).encode()
        self.process: PluginProcess | None = None
        address = path
        if registry is Registry.LOCAL:
            self.process = take(kind, ctx.name, path) or PluginProcess(kind, ctx.name, path)
            self.process.wait_ready()
            address = self.process.address
        try:
            self.channel = open_channel(address)
            _protocol_versions(self.channel, kind, self.name, address)
            self.stub = plugin_pb2_grpc.PluginStub(self.channel)
            _call(self.name, "Init", no_connection=ctx.no_connection)
            try:
                self.stub.Init(
                    plugin_pb2.Init.Request(
                        spec=self.spec_json,
                        no_connection=ctx.no_connection,
                        invocation_id=ctx.invocation_id,
                    )
                )
            except grpc.RpcError as e:
                raise PluginInitError(f"failed to init {kind} {self.name}: {self._why(e)}") from e
        except BaseException:
            if self.process is not None:
                self.process.stop()
            raise

    def _why(self, e: grpc.RpcError) -> str:
        text = _details(e)
        if self.process is not None:
            # A broken stream often means the plugin died; give it a moment to be reaped.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.proc.wait(timeout=2)
        if self.process is not None and not self.process.alive():
            code = self.process.proc.returncode
            text += f" (plugin exited with code {code}){self.process.last_lines()}"
        return text

    def spec_schema(self) -> str:
        _call(self.name, "GetSpecSchema")
        return str(self.stub.GetSpecSchema(plugin_pb2.GetSpecSchema.Request()).json_schema)

    def test_connection(self) -> None:
        _call(self.name, "TestConnection")
        resp = self.stub.TestConnection(plugin_pb2.TestConnection.Request(spec=self.spec_json))
        if not resp.success:
            raise SynclineError(f"{resp.failure_code}: {resp.failure_description}")

    def close(self) -> None:
        _call(self.name, "Close")
        try:
            self.stub.Close(plugin_pb2.Close.Request(), timeout=30)
        except grpc.RpcError:
            pass
        finally:
            self.channel.close()
            if self.process is not None:
                self.process.stop()


def _tree(flat: list[Table]) -> list[Table]:
    """Rebuild relations from the parent names in each table's metadata."""
    from dataclasses import replace

    children: dict[str, list[Table]] = {}
    for t in flat:
        if t.parent:
            children.setdefault(t.parent, []).append(t)

    def build(t: Table) -> Table:
        return replace(t, relations=tuple(build(c) for c in children.get(t.name, [])))

    names = {t.name for t in flat}
    return [build(t) for t in flat if not t.parent or t.parent not in names]


class ExternalSource(_External):
    def __init__(
        self, registry: Registry, path: str, spec: ExternalSpec, ctx: PluginContext
    ) -> None:
        super().__init__("source", registry, path, spec, ctx)

    def tables(self) -> list[Table]:
        _call(self.name, "GetTables")
        resp = self.stub.GetTables(plugin_pb2.GetTables.Request(tables=["*"]))
        return _tree([table_from_bytes(b) for b in resp.tables])

    def sync(self, options: SyncOptions, state: StateReader) -> Iterator[SyncMessage]:
        request = plugin_pb2.Sync.Request(
            tables=options.tables,
            skip_tables=options.skip_tables,
            skip_dependent_tables=options.skip_dependent_tables,
            deterministic_cq_id=options.deterministic_cq_id,
            withErrorMessages=True,
            supports_checkpoints=True,
        )
        if options.shard is not None:
            request.shard.num, request.shard.total = options.shard
        if options.backend is not None:
            # Cursors go to a backend the engine serves (grpc.state_proxy), not to ``state``.
            request.backend.table_name = options.backend.table_name
            request.backend.connection = options.backend.connection
        _call(self.name, "Sync", tables=list(options.tables))
        inserts = InsertCoalescer()
        # The protocol has no end-of-table message: every table ends with the stream.
        migrated: list[str] = []
        failed: set[str] = set()
        try:
            for resp in self.stub.Sync(request):
                kind = resp.WhichOneof("message")
                if kind == "insert":
                    record = record_from_bytes(resp.insert.record)
                    name = (record.schema.metadata or {}).get(b"cq:table_name", b"").decode()
                    yield from inserts.add(name, record)
                    continue
                yield from inserts.flush()  # rows sent before any other message go first
                if kind == "migrate_table":
                    table = table_from_bytes(resp.migrate_table.table)
                    migrated.append(table.name)
                    yield MigrateTable(table)
                elif kind == "error":
                    failed.add(resp.error.table_name)
                    yield SyncError(resp.error.table_name, resp.error.error)
                elif kind == "checkpoint":
                    for row in record_from_bytes(resp.checkpoint.record).to_pylist():
                        yield Checkpoint(str(row["key"]), str(row["value"]))
                elif kind == "delete_record":
                    for group in resp.delete_record.where_clause:
                        where = {
                            p.column: record_from_bytes(p.record).column(0)[0].as_py()
                            for p in group.predicates
                        }
                        yield DeleteRecord(resp.delete_record.table_name, where)
            yield from inserts.flush()
        except grpc.RpcError as e:
            raise SynclineError(f"source {self.name}: sync failed: {self._why(e)}") from e
        for name in migrated:
            yield TableDone(name, ok=name not in failed)


def external_plugin_info(kind: PluginKind, registry: Registry, path: str) -> PluginInfo:
    """An external plugin as the registry describes a built-in one: it takes every write
    mode (it refuses what it cannot do itself) and keeps its cursors in a state backend."""
    if kind == "source":
        return SourceInfo(
            path=path,
            spec_model=ExternalSpec,
            factory=lambda spec, ctx: ExternalSource(registry, path, spec, ctx),
            state_backend=True,
        )
    if kind == "destination":
        from syncline.grpc.destination import ExternalDestination

        return DestinationInfo(
            path=path,
            spec_model=ExternalSpec,
            factory=lambda spec, ctx: ExternalDestination(registry, path, spec, ctx),
        )
    from syncline.grpc.transformer import ExternalTransformer

    return TransformerInfo(
        path=path,
        spec_model=ExternalSpec,
        factory=lambda spec, ctx: ExternalTransformer(registry, path, spec, ctx),
    )


def fetch_spec_schema(kind: PluginKind, registry: Registry, path: str, name: str) -> str:
    """Start or dial the plugin, check the protocol, and return its spec's JSON schema."""
    process: PluginProcess | None = None
    address = path
    if registry is Registry.LOCAL:
        process = PluginProcess(kind, name, path)
    try:
        if process is not None:
            process.wait_ready()
            address = process.address
        channel = open_channel(address)
        try:
            _protocol_versions(channel, kind, name, address)
            stub = plugin_pb2_grpc.PluginStub(channel)
            _call(name, "GetSpecSchema")
            return str(stub.GetSpecSchema(plugin_pb2.GetSpecSchema.Request()).json_schema)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                return ""
            raise PluginInitError(f"{kind} plugin {name}: {_details(e)}") from e
        finally:
            channel.close()
    finally:
        if process is not None:
            process.stop()
