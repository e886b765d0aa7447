"""Find plugins by kind and path. Built-ins and third-party plugins both use entry points.

Light to import (no plugin code, no Arrow): a plugin executable lists names before it listens.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from importlib.metadata import EntryPoints, PackageNotFoundError, distribution, entry_points
from typing import TYPE_CHECKING

from syncline.plugin.errors import PluginNotFoundError

if TYPE_CHECKING:
    from syncline.config.models import Registry
    from syncline.plugin.contracts import PluginInfo, PluginKind

GROUPS: dict[PluginKind, str] = {
    "source": "syncline.sources",
    "destination": "syncline.destinations",
    "transformer": "syncline.transformers",
}


def _group(kind: PluginKind) -> EntryPoints:
    return _installed(tuple(sys.path))[GROUPS[kind]]


@lru_cache(maxsize=1)
def _built_in(path: tuple[str, ...]) -> dict[str, EntryPoints]:
    """syncline's own plugin entry points: one distribution's metadata, read in well under a
    millisecond, where every installed distribution's takes tens of them."""
    try:
        found = distribution("syncline").entry_points
    except PackageNotFoundError:  # run from a source tree without metadata
        return {group: EntryPoints(()) for group in GROUPS.values()}
    return {group: found.select(group=group) for group in GROUPS.values()}


@lru_cache(maxsize=1)
def _installed(path: tuple[str, ...]) -> dict[str, EntryPoints]:
    """The plugin entry points on ``path``, read once per search path: reading them opens the
    metadata of every installed distribution, milliseconds for each plugin a run resolves."""
    found = entry_points()
    return {group: found.select(group=group) for group in GROUPS.values()}


def available(kind: PluginKind, *, built_in: bool = False) -> list[str]:
    """Every registered name of ``kind``; with ``built_in``, only syncline's own."""
    found = _built_in(tuple(sys.path))[GROUPS[kind]] if built_in else _group(kind)
    return sorted(ep.name for ep in found)


def find_plugin(kind: PluginKind, path: str, registry: Registry | None = None) -> PluginInfo:
    """The PluginInfo an entry point of ``kind`` names ``path`` (registry: cloudquery)."""
    from syncline.config.models import Registry
    from syncline.plugin.contracts import DestinationInfo, SourceInfo, TransformerInfo

    if registry not in (None, Registry.CLOUDQUERY):
        raise PluginNotFoundError(
            f"{kind} plugin {path}: registry {registry.value} is not supported yet; "
            "use registry: cloudquery with a built-in plugin"
        )
    # A built-in name is syncline's own plugin; only other names need every distribution read.
    candidates = [ep for ep in _built_in(tuple(sys.path))[GROUPS[kind]] if ep.name == path]
    if not candidates:
        candidates = [ep for ep in _group(kind) if ep.name == path]
    if not candidates:
        known = ", ".join(available(kind)) or "none"
        raise PluginNotFoundError(f"unknown {kind} plugin {path} (available: {known})")
    info = candidates[0].load()
    if not isinstance(info, SourceInfo | DestinationInfo | TransformerInfo) or info.kind != kind:
        raise PluginNotFoundError(
            f"entry point {path} of {GROUPS[kind]} does not name a {kind.capitalize()}Info"
        )
    return info
