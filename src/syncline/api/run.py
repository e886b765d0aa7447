"""The public operations: sync, validate, migrate, tables and state.

Safe from any thread and several times in one process: nothing here installs signal
handlers (unless asked, from the main thread) or changes logging; every plugin opened is
closed before a call returns. Log records go to the ``syncline`` logger; the caller's
handlers decide where they end up.
"""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from syncline.api.inputs import ConfigInput, config_texts, load_config
from syncline.api.results import (
    EngineProgress,
    NoProgress,
    Progress,
    SyncFailedError,
    SyncResult,
    sync_result,
)
from syncline.config.reader import read_config
from syncline.config.selection import select_sources
from syncline.engine.migrate import run_migrate
from syncline.engine.plugins import check_external_specs, check_selections, resolve_plugins
from syncline.engine.sync import StopRequest, SyncFailed, SyncSettings, open_state, run_sync
from syncline.executors import ExecutorName, ShardedRun, combine, run_sharded
from syncline.plugin.errors import SynclineError
from syncline.schema.table import Table, flatten
from syncline.state.keys import key_of_table


def sync(
    config: ConfigInput,
    *,
    sources: Sequence[str] | None = None,
    tables: Sequence[str] | None = None,
    shard: tuple[int, int] | None = None,
    full_refresh: bool | Sequence[str] = False,
    no_migrate: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    handle_signals: bool = False,
    invocation_id: str | None = None,
    executor: ExecutorName = "local",
    shards: int | None = None,
    address: str | None = None,
) -> SyncResult:
    """Sync every source of ``config`` (or only ``sources``) to its destinations.

    ``tables`` replaces each selected source's ``tables`` patterns for this run. ``shard``
    is ``(n, total)``, as ``--shard n/total``. ``full_refresh`` (``True``, or the names of
    incremental tables) ignores those tables' cursors for this run, as ``--full-refresh``.
    Setting ``stop`` asks the sync to stop: rows already read are written and their cursors
    committed, then :class:`SyncFailedError` is raised with ``stopped=True``.
    ``handle_signals`` (main thread only) makes SIGINT and SIGTERM do the same, as the CLI
    does.

    ``executor`` runs the sync in this process (``local``), or split into ``shards`` run in
    a local process pool (``processes``) or on a Dask cluster (``dask``, at ``address`` or
    on a local cluster on loopback); see :mod:`syncline.executors`.

    Returns per-source and per-table figures; a source that fails raises
    :class:`SyncFailedError` (its ``result`` holds what was done). Tables that failed while
    the sync went on are counted in ``errors`` of the result, not raised.
    """
    if executor != "local":
        if full_refresh:
            raise SynclineError("full_refresh runs with the local executor only")
        return _sync_sharded(
            ShardedRun(
                texts=tuple(config_texts(config)),
                executor=executor,
                invocation_id=invocation_id or str(uuid.uuid4()),
                shards=shards,
                address=address,
                sources=tuple(sources) if sources is not None else None,
                tables=tuple(tables) if tables is not None else None,
                no_migrate=no_migrate,
            ),
            progress or NoProgress(),
        )
    cfg = select_sources(load_config(config), sources, tables)
    plugins = resolve_plugins(cfg)
    request = StopRequest(stop)
    settings = SyncSettings(
        no_migrate=no_migrate,
        shard=check_shard(shard),
        invocation_id=invocation_id or str(uuid.uuid4()),
        stop=request,
        full_refresh=_refresh(full_refresh),
    )
    engine_progress = EngineProgress(progress or NoProgress())
    with _signals(request) if handle_signals else _nothing():
        try:
            results = run_sync(cfg, plugins, settings, engine_progress)
        except SyncFailed as e:
            raise SyncFailedError(
                str(e), sync_result(e.results), stopped=e.interrupted is not None
            ) from e
    return sync_result(results)


def _sync_sharded(run: ShardedRun, progress: Progress) -> SyncResult:
    # Checked here, before anything is created: the same errors as a local sync.
    select_sources(read_config([], texts=list(run.texts)), run.sources, run.tables)
    outcomes = run_sharded(run, progress.rows)
    results, errors = combine(outcomes)
    result = sync_result(results)
    for source in result.sources:
        progress.source_finished(source)
    if errors:
        raise SyncFailedError("; ".join(errors), result)
    return result


def validate(config: ConfigInput) -> None:
    """Check a config as ``syncline validate-config`` does; raises ``ConfigErrors``."""
    plugins = resolve_plugins(load_config(config))
    check_external_specs(plugins)
    check_selections(plugins)


def migrate(config: ConfigInput, *, invocation_id: str | None = None) -> None:
    """Create or update every destination table of every source, without syncing."""
    cfg = load_config(config)
    run_migrate(cfg, resolve_plugins(cfg), invocation_id or str(uuid.uuid4()))


def tables(config: ConfigInput) -> dict[str, list[Table]]:
    """Every table each source offers (children flattened after their parents)."""
    cfg = load_config(config, relaxed=True)
    plugins = resolve_plugins(cfg)
    out: dict[str, list[Table]] = {}
    for src in cfg.sources:
        source = plugins.sources[src.spec.name].create(no_connection=True)
        try:
            out[src.spec.name] = flatten(source.tables())
        finally:
            source.close()
    return out


def show_state(config: ConfigInput) -> dict[str, dict[str, str]]:
    """The committed cursors of each source with a state backend: {source: {key: value}}."""
    cfg = load_config(config, relaxed=True)
    plugins = resolve_plugins(cfg)
    out: dict[str, dict[str, str]] = {}
    for spec in cfg.source_specs():
        client = open_state(spec, cfg, plugins)
        if client is None:
            continue
        try:
            out[spec.name] = dict(client.items())
        finally:
            client.close()
    return out


def reset_state(
    config: ConfigInput,
    *,
    sources: Sequence[str] | None = None,
    tables: Sequence[str] | None = None,
) -> dict[str, list[str]]:
    """Clear cursors (all, or only those of ``tables``) so the next sync reads in full.

    Returns the keys cleared per source.
    """
    cfg = load_config(config, relaxed=True)
    plugins = resolve_plugins(cfg)
    known_sources = {s.name for s in cfg.source_specs()}
    for name in sources or []:
        if name not in known_sources:
            raise SynclineError(f"unknown source {name}")
    cleared: dict[str, list[str]] = {}
    for spec in cfg.source_specs():
        if sources and spec.name not in sources:
            continue
        client = open_state(spec, cfg, plugins)
        if client is None:
            continue
        try:
            keys = [
                k for k in client.items() if not tables or any(key_of_table(k, t) for t in tables)
            ]
            client.commit(dict.fromkeys(keys))
            cleared[spec.name] = keys
        finally:
            client.close()
    return cleared


def _refresh(full_refresh: bool | Sequence[str]) -> tuple[str, ...] | None:
    if isinstance(full_refresh, bool):
        return () if full_refresh else None
    return tuple(full_refresh) or None


def check_shard(shard: tuple[int, int] | None, text: str = "") -> tuple[int, int] | None:
    """A shard ``(num, total)`` in range; ``text`` is how the user wrote it (``--shard``)."""
    if shard is None:
        return None
    num, total = shard
    label = text or f"{num}/{total}"
    if num < 1 or total < 1:
        raise SynclineError(f"invalid shard {label}: num and total must be at least 1")
    if num > total:
        raise SynclineError(f"invalid shard {label}: num must not be greater than total")
    return shard


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def _signals(request: StopRequest) -> Iterator[None]:
    """SIGINT/SIGTERM stop the sync after the rows already read; a second one stops now."""
    if threading.current_thread() is not threading.main_thread():
        raise SynclineError("handle_signals=True needs the main thread")

    def on_signal(signum: int, frame: Any) -> None:
        if request.is_set():
            raise KeyboardInterrupt
        request.request(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
