"""Find each configured plugin and validate its nested spec before anything connects."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from syncline import __version__
from syncline.config.errors import ConfigError, ConfigErrors
from syncline.config.models import Registry
from syncline.config.reader import Config, Configured, validation_error
from syncline.plugin.contracts import PluginContext, PluginInfo, PluginKind
from syncline.plugin.errors import PluginInitError, PluginNotFoundError, SynclineError
from syncline.plugin.registry import find_plugin
from syncline.schema.selection import SelectionError, select_tables
from syncline.schema.table import Table

log = logging.getLogger("syncline.engine")

# What ``registry: grpc`` dials: host:port (a name, IPv4 or [IPv6]) or a unix socket.
_GRPC_ADDRESS = re.compile(r"^(unix:.+|(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5})$")


@dataclass(frozen=True)
class ResolvedPlugin:
    kind: PluginKind
    configured: Configured
    info: PluginInfo
    spec: BaseModel

    @property
    def name(self) -> str:
        return str(self.configured.spec.name)

    def create(self, invocation_id: str = "", *, no_connection: bool = False) -> Any:
        ctx = PluginContext(
            name=self.name,
            invocation_id=invocation_id,
            logger=logging.getLogger(f"syncline.{self.kind}.{self.name}"),
            no_connection=no_connection,
        )
        try:
            plugin = self.info.factory(self.spec, ctx)
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


def _implementation(resolved: ResolvedPlugin) -> str:
    """What runs the plugin: syncline itself, or the executable or address given."""
    spec = resolved.configured.spec
    if spec.registry is Registry.LOCAL:
        return f"executable {spec.path}"
    if spec.registry is Registry.GRPC:
        return f"gRPC server at {spec.path}"
    return f"built in, syncline {__version__}"


def check_selection(source: ResolvedPlugin, tables: list[Table]) -> None:
    """Raise a ConfigError naming the file, document and key when the source's ``tables`` /
    ``skip_tables`` select nothing, or hold a pattern that matches no table."""
    spec = source.configured.spec
    try:
        select_tables(tables, spec.tables, spec.skip_tables, spec.skip_dependent_tables)
    except SelectionError as e:
        at: tuple[str | int, ...] = ("spec", e.key) + (() if e.index is None else (e.index,))
        raise source.configured.error(str(e), *at) from None


def start_source(resolved: ResolvedPlugin, invocation_id: str = "") -> Any:
    """Create a source and check its table selection against the tables it has (a bad one
    raises SynclineError naming file, document and key), so nothing else starts for it."""
    source = resolved.create(invocation_id)
    try:
        check_selection(resolved, source.tables())
    except ConfigError as e:
        source.close()
        raise SynclineError(str(e)) from None
    except BaseException:
        source.close()
        raise
    return source


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
            source = resolved.create(no_connection=True)
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
    sources: dict[str, ResolvedPlugin]
    destinations: dict[str, ResolvedPlugin]
    transformers: dict[str, ResolvedPlugin] = field(default_factory=dict)


def start_external(resolved: Iterable[ResolvedPlugin]) -> Callable[[], None]:
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
    resolved: dict[PluginKind, dict[str, ResolvedPlugin]] = {
        "source": {},
        "destination": {},
        "transformer": {},
    }
    kinds = (
        ("source", config.sources),
        ("destination", config.destinations),
        ("transformer", config.transformers),
    )
    for kind, items in kinds:
        for item in items:
            try:
                r = _resolve(kind, item)  # type: ignore[arg-type]
            except ConfigError as e:
                errors.append(e)
                continue
            resolved[r.kind][r.name] = r
    if errors:
        raise ConfigErrors(errors)
    return Plugins(resolved["source"], resolved["destination"], resolved["transformer"])


def _resolve(kind: PluginKind, item: Configured) -> ResolvedPlugin:
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
        return ResolvedPlugin(kind, item, info, info.spec_model.model_validate(item.spec.spec))
    try:
        info = find_plugin(kind, item.spec.path, registry)
    except PluginNotFoundError as e:
        raise item.error(str(e), "spec", "path") from None
    try:
        spec = info.spec_model.model_validate(item.spec.spec)
    except ValidationError as e:
        raise validation_error(item.doc, e, ("spec", "spec")) from None
    modes = getattr(info.factory, "write_modes", None)
    if kind == "destination" and modes is not None and item.spec.write_mode not in modes:
        supported = ", ".join(sorted(m.value for m in modes))
        raise item.error(
            f"write_mode {item.spec.write_mode.value} is not supported by {item.spec.path} "
            f"(supported: {supported})",
            "spec",
            "write_mode",
        )
    return ResolvedPlugin(kind, item, info, spec)


def check_external_specs(plugins: Plugins) -> None:
    """Validate the nested spec of every external plugin against the JSON schema it serves."""
    everything = [*plugins.sources.values(), *plugins.destinations.values()]
    external = [
        r
        for r in [*everything, *plugins.transformers.values()]
        if r.configured.spec.registry in (Registry.LOCAL, Registry.GRPC)
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
