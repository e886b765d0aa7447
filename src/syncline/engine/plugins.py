"""Find each configured plugin and validate its nested spec before anything connects."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeGuard, TypeVar

from pydantic import BaseModel, ValidationError

from syncline import __version__
from syncline.config.errors import ConfigError, ConfigErrors
from syncline.config.models import Registry, SourceSpec
from syncline.config.reader import Config, Configured, backend_destination_name, validation_error
from syncline.engine.write_modes import deletes_stale_supported, unsupported_write_mode
from syncline.plugin.contracts import (
    DestinationInfo,
    DestinationPlugin,
    PluginContext,
    PluginInfo,
    PluginKind,
    SourceInfo,
    SourcePlugin,
    TransformerInfo,
    TransformerPlugin,
)
from syncline.plugin.errors import PluginInitError, PluginNotFoundError, SynclineError
from syncline.plugin.registry import find_plugin
from syncline.schema.selection import SelectionError, select_tables
from syncline.schema.table import Table, flatten

log = logging.getLogger("syncline.engine")

# What ``registry: grpc`` dials: host:port (a name, IPv4 or [IPv6]) or a unix socket.
_GRPC_ADDRESS = re.compile(r"^(unix:.+|(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5})$")

_I = TypeVar("_I", bound=PluginInfo, covariant=True)
_P = TypeVar("_P", SourcePlugin, DestinationPlugin, TransformerPlugin)


@dataclass(frozen=True)
class ResolvedPlugin(Generic[_I]):
    """A configured plugin found in the registry, its nested spec validated."""

    configured: Configured
    info: _I
    spec: BaseModel

    @property
    def kind(self) -> PluginKind:
        return self.info.kind

    @property
    def name(self) -> str:
        return str(self.configured.spec.name)

    def create_source(
        self: ResolvedPlugin[SourceInfo], invocation_id: str = "", *, no_connection: bool = False
    ) -> SourcePlugin:
        factory = self.info.factory
        return self._create(lambda ctx: factory(self.spec, ctx), invocation_id, no_connection)

    def create_destination(
        self: ResolvedPlugin[DestinationInfo], invocation_id: str = ""
    ) -> DestinationPlugin:
        factory = self.info.factory
        return self._create(lambda ctx: factory(self.spec, ctx), invocation_id)

    def create_transformer(
        self: ResolvedPlugin[TransformerInfo], invocation_id: str = ""
    ) -> TransformerPlugin:
        factory = self.info.factory
        return self._create(lambda ctx: factory(self.spec, ctx), invocation_id)

    def _create(
        self,
        factory: Callable[[PluginContext], _P],
        invocation_id: str,
        no_connection: bool = False,
    ) -> _P:
        ctx = PluginContext(
            name=self.name,
            invocation_id=invocation_id,
            logger=logging.getLogger(f"syncline.{self.kind}.{self.name}"),
            no_connection=no_connection,
        )
        try:
            plugin = factory(ctx)
        except SynclineError:
            raise
        except Exception as e:
            raise PluginInitError(f"failed to init {self.kind} {self.name}: {e}") from e
        spec = self.configured.spec
        log.info(
            "plugin started",
            extra={
                "kind": self.kind,
                "plugin": self.name,
                "path": spec.path,
                "registry": spec.registry.value,
                "version": spec.version,
                "implementation": _implementation(self),
            },
        )
        return plugin


def _implementation(resolved: ResolvedPlugin[PluginInfo]) -> str:
    """What runs the plugin: syncline itself, or the executable or address given."""
    spec = resolved.configured.spec
    if spec.registry is Registry.LOCAL:
        return f"executable {spec.path}"
    if spec.registry is Registry.GRPC:
        return f"gRPC server at {spec.path}"
    return f"built in, syncline {__version__}"


def check_selection(source: ResolvedPlugin[SourceInfo], tables: list[Table]) -> None:
    """Raise a ConfigError naming the file, document and key when the source's ``tables`` /
    ``skip_tables`` select nothing, or hold a pattern that matches no table."""
    spec = source.configured.spec
    try:
        select_tables(tables, spec.tables, spec.skip_tables, spec.skip_dependent_tables)
    except SelectionError as e:
        at: tuple[str | int, ...] = ("spec", e.key) + (() if e.index is None else (e.index,))
        raise source.configured.error(str(e), *at) from None


def selected_tables(spec: SourceSpec, tables: list[Table]) -> list[Table]:
    """The tables a source's selection picks, children flattened after their parents."""
    return flatten(select_tables(tables, spec.tables, spec.skip_tables, spec.skip_dependent_tables))


def start_source(resolved: ResolvedPlugin[SourceInfo], invocation_id: str = "") -> SourcePlugin:
    """Create a source and check its table selection against the tables it has (a bad one
    raises SynclineError naming file, document and key), so nothing else starts for it."""
    source = resolved.create_source(invocation_id)
    try:
        check_selection(resolved, source.tables())
    except ConfigError as e:
        source.close()
        raise SynclineError(str(e)) from None
    except BaseException:
        source.close()
        raise
    return source


def is_source(resolved: ResolvedPlugin[PluginInfo]) -> TypeGuard[ResolvedPlugin[SourceInfo]]:
    return isinstance(resolved.info, SourceInfo)


def is_destination(
    resolved: ResolvedPlugin[PluginInfo],
) -> TypeGuard[ResolvedPlugin[DestinationInfo]]:
    return isinstance(resolved.info, DestinationInfo)


def test_plugin_connection(resolved: ResolvedPlugin[PluginInfo]) -> None:
    """Create a source or destination and test its connection (and a source's table
    selection against the tables it has); raises what went wrong."""
    if is_source(resolved):
        source = resolved.create_source()
        try:
            source.test_connection()
            check_selection(resolved, source.tables())
        finally:
            source.close()
    elif is_destination(resolved):
        destination = resolved.create_destination()
        try:
            destination.test_connection()
        finally:
            destination.close()
    else:
        raise SynclineError(f"{resolved.kind} {resolved.name} has no connection to test")


def check_selections(plugins: Plugins) -> list[tuple[str, str]]:
    """``check_selection`` for every source whose tables are known without connecting.

    Raises ConfigErrors for every source whose selection fails. Returns (source, reason) for
    each source that lists its tables only once connected (e.g. a database): test-connection
    and the start of a sync check those.
    """
    errors: list[ConfigError] = []
    unchecked: list[tuple[str, str]] = []
    for resolved in plugins.sources.values():
        if resolved.configured.spec.registry in (Registry.LOCAL, Registry.GRPC):
            # listing its tables would start the plugin a second time: the sync's start of
            # the source checks them
            unchecked.append((resolved.name, "an external plugin lists its tables once started"))
            continue
        try:
            source = resolved.create_source(no_connection=True)
        except SynclineError as e:
            unchecked.append((resolved.name, str(e)))
            continue
        try:
            check_selection(resolved, source.tables())
        except ConfigError as e:
            errors.append(e)
        except SynclineError as e:
            unchecked.append((resolved.name, str(e)))
        finally:
            source.close()
    if errors:
        raise ConfigErrors(errors)
    return unchecked


@dataclass(frozen=True)
class Plugins:
    sources: dict[str, ResolvedPlugin[SourceInfo]]
    destinations: dict[str, ResolvedPlugin[DestinationInfo]]
    transformers: dict[str, ResolvedPlugin[TransformerInfo]] = field(default_factory=dict)

    def every(self) -> list[ResolvedPlugin[PluginInfo]]:
        return [*self.sources.values(), *self.destinations.values(), *self.transformers.values()]

    def used_by(self, spec: SourceSpec) -> list[ResolvedPlugin[PluginInfo]]:
        """What a sync of this source starts: its destinations, itself, and the destination
        that keeps its state (a second instance, also when it is not a destination)."""
        used: list[ResolvedPlugin[PluginInfo]] = [
            *(self.destinations[d] for d in spec.destinations),
            self.sources[spec.name],
        ]
        state_dest = backend_destination_name(spec) if spec.has_backend else None
        if state_dest is not None:
            used.append(self.destinations[state_dest])
        return used


def start_external(resolved: Iterable[ResolvedPlugin[PluginInfo]]) -> Callable[[], None]:
    """Start the processes of these ``registry: local`` plugins at once, before they are
    created one by one; returns what stops the ones left unused."""
    wanted = [
        (r.kind, r.name, str(r.configured.spec.path))
        for r in resolved
        if r.configured.spec.registry is Registry.LOCAL
    ]
    if not wanted:
        return lambda: None
    from syncline.grpc.prestart import start_ahead, stop_unused

    start_ahead(wanted)
    return stop_unused


def resolve_plugins(config: Config) -> Plugins:
    errors: list[ConfigError] = []
    plugins = Plugins({}, {}, {})
    kinds: tuple[tuple[PluginKind, list[Configured]], ...] = (
        ("source", config.sources),
        ("destination", config.destinations),
        ("transformer", config.transformers),
    )
    for kind, items in kinds:
        for item in items:
            try:
                info, spec = _resolve(kind, item)
            except ConfigError as e:
                errors.append(e)
                continue
            name = str(item.spec.name)
            if isinstance(info, SourceInfo):
                plugins.sources[name] = ResolvedPlugin(item, info, spec)
            elif isinstance(info, DestinationInfo):
                plugins.destinations[name] = ResolvedPlugin(item, info, spec)
            else:
                plugins.transformers[name] = ResolvedPlugin(item, info, spec)
    if errors:
        raise ConfigErrors(errors)
    return plugins


def _resolve(kind: PluginKind, item: Configured) -> tuple[PluginInfo, BaseModel]:
    """The registry's entry for ``item`` (of ``kind``) and its validated nested spec."""
    registry: Registry = item.spec.registry
    if registry in (Registry.LOCAL, Registry.GRPC):
        from syncline.grpc.client import external_plugin_info  # grpc only when a plugin needs it

        if registry is Registry.LOCAL and not os.access(item.spec.path, os.X_OK):
            raise item.error(f"{item.spec.path} is not an executable file", "spec", "path")
        if registry is Registry.GRPC and not _GRPC_ADDRESS.match(item.spec.path):
            raise item.error(
                f"{item.spec.path!r} is not an address to dial: registry grpc needs host:port "
                "(e.g. localhost:7777)",
                "spec",
                "path",
            )
        info = external_plugin_info(kind, registry, item.spec.path)
        return info, info.spec_model.model_validate(item.spec.spec)
    try:
        info = find_plugin(kind, item.spec.path, registry)
    except PluginNotFoundError as e:
        raise item.error(str(e), "spec", "path") from None
    try:
        spec = info.spec_model.model_validate(item.spec.spec)
    except ValidationError as e:
        raise validation_error(item.doc, e, ("spec", "spec")) from None
    if isinstance(info, DestinationInfo):
        refused = unsupported_write_mode(item.spec.write_mode, info.write_modes, item.spec.path)
        if refused:
            raise item.error(refused, "spec", "write_mode")
        if item.spec.sync_summary_retention and not deletes_stale_supported(info.write_modes):
            raise item.error(
                f"needs a destination that deletes rows, and {item.spec.path} is append only",
                "spec",
                "sync_summary_retention",
            )
    return info, spec


def check_external_specs(plugins: Plugins) -> None:
    """Validate the nested spec of every external plugin against the JSON schema it serves."""
    external = [
        r for r in plugins.every() if r.configured.spec.registry in (Registry.LOCAL, Registry.GRPC)
    ]
    if not external:
        return
    import json

    import jsonschema

    from syncline.grpc.client import fetch_spec_schema

    errors: list[ConfigError] = []
    for resolved in external:
        spec = resolved.configured.spec
        text = fetch_spec_schema(resolved.kind, spec.registry, spec.path, spec.name)
        if not text:
            continue  # the plugin publishes no schema
        validator = jsonschema.Draft202012Validator(json.loads(text))
        for err in sorted(validator.iter_errors(spec.spec), key=lambda e: list(e.path)):
            path = ("spec", "spec", *err.path)
            errors.append(resolved.configured.error(err.message, *path))
            break
    if errors:
        raise ConfigErrors(errors)
