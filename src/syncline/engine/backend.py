"""A source's state backend: opened and loaded, locked for one writer, and served to an
external source that keeps its cursors itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from syncline.config.models import DestinationSpec, SourceSpec
from syncline.config.reader import backend_destination_name
from syncline.engine.locks import lock_state_table
from syncline.engine.plugins import Plugins
from syncline.engine.write_modes import state_upserts
from syncline.plugin.contracts import BackendOptions
from syncline.plugin.errors import StateError
from syncline.state.client import CursorStore, StateClient


def open_state(spec: SourceSpec, plugins: Plugins, invocation_id: str = "") -> CursorStore | None:
    """The cursor store of a source's backend, loaded; None without backend options."""
    if not spec.has_backend or spec.backend_options is None:
        return None
    dest_name = backend_destination_name(spec)
    if dest_name is None:
        # A literal gRPC address: a plugin serving protocol v3 (e.g. a CloudQuery destination).
        from syncline.grpc.state_remote import RemoteState

        address, table = spec.backend_options.connection, spec.backend_options.table_name
        try:
            return RemoteState(address, table)
        except Exception as e:
            raise StateError(f"source {spec.name}: cannot use state backend {address}: {e}") from e
    resolved = plugins.destinations[dest_name]
    dspec: DestinationSpec = resolved.configured.spec
    plugin = resolved.create_destination(invocation_id)
    upsert = state_upserts(dspec.write_mode, resolved.info.write_modes)
    client = StateClient(plugin, spec.backend_options.table_name, upsert=upsert)
    try:
        client.load()
    except BaseException:
        plugin.close()
        raise
    return client


def lock_backend(
    spec: SourceSpec, plugins: Plugins, source_name: str, lock_dir: str | None
) -> Callable[[], None] | None:
    """Hold the lock of the source's state table; returns what releases it (None: no state)."""
    backend = spec.backend_options
    if backend is None or not spec.has_backend:
        return None
    target = backend_destination_name(spec)
    if target is None:  # a gRPC address: the address is all we know of it
        return lock_state_table(
            source_name, "grpc", None, backend.connection, backend.table_name, lock_dir
        )
    resolved = plugins.destinations[target]
    configured = resolved.configured.spec
    return lock_state_table(
        source_name,
        configured.path,
        resolved.spec,
        configured.spec,
        backend.table_name,
        lock_dir,
    )


def serve_backend(
    table_name: str,
    read: Callable[[], dict[str, str]],
    on_write: Callable[[Mapping[str, str]], None],
    closers: list[Callable[[], None]],
) -> BackendOptions:
    """A gRPC state backend the engine controls, for a source that keeps its cursors itself:
    it reads through ``read`` and hands every write to ``on_write``."""
    from syncline.grpc.state_proxy import StateProxy

    proxy = StateProxy(read=read, on_write=on_write)
    closers.append(proxy.stop)
    return BackendOptions(table_name, proxy.address)
