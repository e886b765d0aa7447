"""The cursors of incremental tables: show, reset, history, rollback and verify.

Reading and resetting cursors needs only each source's state backend: a config is read
with unset ``${NAME}`` tolerated everywhere else (in other destinations, in the sources'
own plugin settings), and only the backend's plugin is started.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from syncline.api.inputs import ConfigInput, read_input
from syncline.api.run import source_tables
from syncline.config.errors import ConfigError, ConfigErrors
from syncline.config.models import SourceSpec
from syncline.config.reader import backend_destination_name
from syncline.engine.backend import open_state
from syncline.engine.plugins import Plugins, resolve_plugins
from syncline.engine.verify import CursorCheck, verify_cursors
from syncline.plugin.errors import SynclineError
from syncline.state.client import CursorStore, StateClient
from syncline.state.history import CursorVersion
from syncline.state.keys import keys_of_tables


@dataclass(frozen=True)
class SourceState:
    """The committed cursors of one source; ``table`` is None without ``backend_options``
    (its cursors are not kept)."""

    source: str
    table: str | None
    cursors: Mapping[str, str]


@dataclass(frozen=True)
class SourceHistory:
    """Earlier values of a source's cursors, newest first; ``versions`` is None when the
    backend keeps no history, ``table`` None without ``backend_options``."""

    source: str
    table: str | None
    versions: tuple[CursorVersion, ...] | None


@dataclass(frozen=True)
class SourceRollback:
    """What a rollback set per key (None: cleared, the next sync is full), and the keys
    left unchanged as they have no such version; ``table`` None without a backend."""

    source: str
    table: str | None
    changes: Mapping[str, str | None]
    unchanged: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceChecks:
    """One check per cursor and destination; ``table`` None without a backend."""

    source: str
    table: str | None
    checks: tuple[CursorCheck, ...]

    @property
    def mismatches(self) -> int:
        return sum(not c.ok for c in self.checks)


def read_state(config: ConfigInput, *, sources: Sequence[str] | None = None) -> list[SourceState]:
    """Every (or each named) source's committed cursors, in config order."""
    out: list[SourceState] = []
    each = _backends(config, sources)
    for spec in each.specs:
        with each.state(spec) as client:
            cursors = client.items() if client is not None else {}
            out.append(SourceState(spec.name, _table(spec, client), cursors))
    return out


def show_state(config: ConfigInput) -> dict[str, dict[str, str]]:
    """The committed cursors of each source with a state backend: {source: {key: value}}."""
    return {s.source: dict(s.cursors) for s in read_state(config) if s.table is not None}


def reset_state(
    config: ConfigInput,
    *,
    sources: Sequence[str] | None = None,
    tables: Sequence[str] | None = None,
) -> dict[str, list[str] | None]:
    """Clear cursors (all, or only those of ``tables``) so the next sync reads in full.

    Returns the keys cleared per source; None for a source without a state backend. Naming
    ``tables`` checks them against the source's tables, which needs the source's settings.
    """
    each = _backends(config, sources, with_sources=bool(tables))
    if tables:  # every name checked before any cursor is cleared
        for spec in each.specs:
            if spec.has_backend:
                _check_tables(each.plugins, spec, tables)
    cleared: dict[str, list[str] | None] = {}
    for spec in each.specs:
        with each.state(spec) as client:
            if client is None:
                cleared[spec.name] = None
                continue
            keys = [k for k in client.items() if _wanted(k, tables)]
            client.commit(dict.fromkeys(keys))
            cleared[spec.name] = keys
    return cleared


def state_history(
    config: ConfigInput,
    *,
    sources: Sequence[str] | None = None,
    tables: Sequence[str] | None = None,
) -> list[SourceHistory]:
    """Earlier values of each source's cursors (only those of ``tables``), newest first."""
    out: list[SourceHistory] = []
    each = _backends(config, sources)
    for spec in each.specs:
        with each.state(spec) as client:
            versions = None
            if isinstance(client, StateClient):
                versions = tuple(v for v in client.history() if _wanted(v.key, tables))
            out.append(SourceHistory(spec.name, _table(spec, client), versions))
    return out


def rollback_state(
    config: ConfigInput,
    to: int | datetime,
    *,
    sources: Sequence[str] | None = None,
    tables: Sequence[str] | None = None,
) -> list[SourceRollback]:
    """Set cursors back to version ``to`` (see :func:`state_history`) or to their values at
    time ``to``; a cursor that had no value then is cleared. The next sync replays from
    there."""
    if isinstance(to, datetime) and to.tzinfo is None:
        to = to.replace(tzinfo=UTC)
    out: list[SourceRollback] = []
    each = _backends(config, sources)
    for spec in each.specs:
        with each.state(spec) as client:
            if client is None:
                out.append(SourceRollback(spec.name, None, {}))
                continue
            if not isinstance(client, StateClient):
                raise SynclineError(
                    f"source {spec.name}: this backend keeps no history to roll back"
                )
            out.append(_rollback(spec, client, to, tables))
    return out


def _rollback(
    spec: SourceSpec, client: StateClient, to: int | datetime, tables: Sequence[str] | None
) -> SourceRollback:
    versions = [v for v in client.history() if _wanted(v.key, tables)]
    keys = sorted({v.key for v in versions} | {k for k in client.items() if _wanted(k, tables)})
    changes: dict[str, str | None] = {}
    unchanged: list[str] = []
    for key in keys:
        mine = [v for v in versions if v.key == key]  # newest first
        if isinstance(to, int):
            match = next((v for v in mine if v.version == to), None)
            if match is None:
                unchanged.append(key)
                continue
        else:
            match = next((v for v in mine if v.committed_at <= to), None)
        value = match.value if match is not None else None  # None: no cursor yet at that time
        if client.get(key) != value:
            changes[key] = value
    client.commit(changes)
    return SourceRollback(spec.name, _table(spec, client), changes, tuple(unchanged))


def verify_state(
    config: ConfigInput, *, sources: Sequence[str] | None = None
) -> list[SourceChecks]:
    """Check that each destination still holds the rows every cursor covers. This connects
    the sources and their destinations, so it needs the whole config."""
    out: list[SourceChecks] = []
    each = _backends(config, sources, with_sources=True, all_destinations=True)
    for spec in each.specs:
        with each.state(spec) as client:
            checks = () if client is None else verify_cursors(spec, client.items(), each.plugins)
            out.append(SourceChecks(spec.name, _table(spec, client), tuple(checks)))
    return out


class _Backends:
    """The chosen sources, and the plugins their state needs."""

    def __init__(self, specs: list[SourceSpec], plugins: Plugins) -> None:
        self.specs = specs
        self.plugins = plugins

    @contextmanager
    def state(self, spec: SourceSpec) -> Iterator[CursorStore | None]:
        """The source's state client, loaded, closed on the way out."""
        client = open_state(spec, self.plugins)
        try:
            yield client
        finally:
            if client is not None:
                client.close()


def _backends(
    config: ConfigInput,
    sources: Sequence[str] | None,
    *,
    with_sources: bool = False,
    all_destinations: bool = False,
) -> _Backends:
    """Only what the chosen sources' state needs: their backends (``all_destinations``:
    every destination of theirs) and, ``with_sources``, the sources' plugins."""
    cfg = read_input(config, relaxed=True, defer_env=True)
    known = [s.spec.name for s in cfg.sources]
    for name in sources or []:
        if name not in known:
            raise SynclineError(f"unknown source {name}")
    chosen = [s for s in cfg.sources if not sources or s.spec.name in sources]
    needed = {backend_destination_name(s.spec) for s in chosen if s.spec.has_backend}
    if all_destinations:
        needed |= {d for s in chosen for d in s.spec.destinations}
    destinations = [d for d in cfg.destinations if d.spec.name in needed]
    unset: list[ConfigError] = [e for d in destinations for _, e in d.doc.unset]
    for s in chosen:
        # a source's own plugin settings matter only when its plugin is started
        unset += [e for at, e in s.doc.unset if with_sources or at[:2] != ("spec", "spec")]
    if unset:
        raise ConfigErrors(unset)
    narrowed = replace(cfg, sources=chosen, destinations=destinations)
    if not all_destinations:
        narrowed = replace(narrowed, transformers=[])
    plugins = resolve_plugins(narrowed if with_sources else replace(narrowed, sources=[]))
    return _Backends([s.spec for s in chosen], plugins)


def _check_tables(plugins: Plugins, spec: SourceSpec, tables: Sequence[str]) -> None:
    known = {t.name for t in source_tables(plugins.sources[spec.name])}
    for t in tables:
        if known and t not in known:
            raise SynclineError(f"source {spec.name} has no table {t}")


def _wanted(key: str, tables: Sequence[str] | None) -> bool:
    return bool(keys_of_tables([key], tables or ()))


def _table(spec: SourceSpec, client: CursorStore | None) -> str | None:
    if client is None or spec.backend_options is None:
        return None
    return spec.backend_options.table_name
