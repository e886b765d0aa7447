"""The public operations: sync, validate, migrate, tables and check_connections.

Safe from any thread and several times in one process: nothing here installs signal
handlers (unless asked, from the main thread) or changes logging; every plugin opened is
closed before a call returns. Log records go to the ``syncline`` logger; the caller's
handlers decide where they end up.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncline.api.inputs import ConfigInput, config_texts, load_config
from syncline.api.results import (
    ConnectionResult,
    EngineProgress,
    NoProgress,
    Progress,
    SyncFailedError,
    SyncResult,
    sync_result,
)
from syncline.api.signals import handled_signals
from syncline.config.models import SourceSpec
from syncline.config.reader import read_config
from syncline.config.secrets import redact
from syncline.config.selection import select_sources
from syncline.engine.migrate import run_migrate
from syncline.engine.plugins import (
    Plugins,
    ResolvedPlugin,
    check_external_specs,
    check_selections,
    resolve_plugins,
    test_plugin_connection,
)
from syncline.engine.summary import SourceResult, append_summaries, write_tables_metrics
from syncline.engine.sync import (
    StopRequest,
    SyncFailed,
    SyncInterrupted,
    SyncSettings,
    run_sync,
)
from syncline.plugin.contracts import SourceInfo
from syncline.plugin.errors import SynclineError
from syncline.schema.selection import SelectionError, select_tables
from syncline.schema.table import Table, flatten

if TYPE_CHECKING:  # executors are imported only by a sharded sync
    from syncline.executors import ExecutorName, ShardedRun


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
    on_signal: Callable[[int], None] | None = None,
    invocation_id: str | None = None,
    executor: ExecutorName = "local",
    shards: int | None = None,
    address: str | None = None,
    lock_dir: str | None = None,
    summary_location: str | None = None,
    tables_metrics_location: str | None = None,
) -> SyncResult:
    """Sync every source of ``config`` (or only ``sources``) to its destinations.

    ``tables`` replaces each selected source's ``tables`` patterns for this run. ``shard``
    is ``(n, total)``, as ``--shard n/total``. ``full_refresh`` (``True``, or the names of
    incremental tables) ignores those tables' cursors for this run, as ``--full-refresh``.
    Setting ``stop`` asks the sync to stop: rows already read are written and their cursors
    committed, then :class:`SyncFailedError` is raised with ``stopped=True``.
    ``handle_signals`` (main thread only) makes SIGINT and SIGTERM do the same, as the CLI
    does; ``on_signal`` is then called with the signal's number first (e.g. to tell the
    user); a second signal raises ``KeyboardInterrupt``.

    ``executor`` runs the sync in this process (``local``), or split into ``shards`` run in
    a local process pool (``processes``) or on a Dask cluster (``dask``, at ``address`` or
    on a local cluster on loopback); see :mod:`syncline.executors`. ``stop`` and
    ``handle_signals`` reach every shard: running ones stop after the rows they read,
    those not started never start.

    ``lock_dir`` holds the sync locks of state tables (default: ``$SYNCLINE_LOCK_DIR`` or
    the temp folder). ``summary_location`` gets a JSON line per source and destination, and
    ``tables_metrics_location`` a table of per-table figures, as CloudQuery's flags of the
    same names; both are written also when the sync fails.

    Returns per-source and per-table figures; a source that fails raises
    :class:`SyncFailedError` (its ``result`` holds what was done). Tables that failed while
    the sync went on are counted in ``errors`` of the result, not raised.
    """
    reports = _Reports(summary_location, tables_metrics_location)
    if executor != "local":
        if shard is not None:
            raise SynclineError("--shard runs one shard here: use it with --executor local")
        if full_refresh:
            raise SynclineError("--full-refresh runs with --executor local only")
        if shards is not None and shards < 1:
            raise SynclineError(f"invalid --shards {shards}: must be at least 1")
        from syncline.executors import ShardedRun

        run = ShardedRun(
            texts=tuple(config_texts(config)),
            executor=executor,
            invocation_id=invocation_id or str(uuid.uuid4()),
            shards=shards,
            address=address,
            sources=tuple(sources) if sources is not None else None,
            tables=tuple(tables) if tables is not None else None,
            no_migrate=no_migrate,
        )
        request = StopRequest(stop)
        with handled_signals(request, on_signal) if handle_signals else nullcontext():
            return _sync_sharded(run, progress or NoProgress(), reports, request, handle_signals)
    cfg = select_sources(load_config(config), sources, tables)
    plugins = resolve_plugins(cfg)
    check_selections(plugins)  # before anything is created; a database source at its start
    request = StopRequest(stop)
    settings = SyncSettings(
        no_migrate=no_migrate,
        shard=check_shard(shard),
        invocation_id=invocation_id or str(uuid.uuid4()),
        stop=request,
        lock_dir=lock_dir,
        full_refresh=_refresh(full_refresh, plugins),
    )
    engine_progress = EngineProgress(progress or NoProgress())
    results: list[SourceResult] = []
    with handled_signals(request, on_signal) if handle_signals else nullcontext():
        try:
            results = run_sync(cfg, plugins, settings, engine_progress)
        except SyncFailed as e:
            results = e.results
            raise SyncFailedError(str(e), sync_result(e.results), signum=e.interrupted) from e
        finally:
            reports.write(results)
    return sync_result(results)


@dataclass(frozen=True)
class _Reports:
    """The summary and metrics files a sync leaves, when asked for."""

    summary_location: str | None
    tables_metrics_location: str | None

    def write(self, results: list[SourceResult]) -> None:
        if self.summary_location and results:
            append_summaries(self.summary_location, results)
        if self.tables_metrics_location and results:
            write_tables_metrics(self.tables_metrics_location, results)


def _sync_sharded(
    run: ShardedRun,
    progress: Progress,
    reports: _Reports,
    stop: StopRequest,
    handles_signals: bool,
) -> SyncResult:
    # Checked here, before anything is created: the same errors as a local sync.
    cfg = select_sources(read_config([], texts=list(run.texts)), run.sources, run.tables)
    check_selections(resolve_plugins(cfg))
    for src in cfg.sources:
        progress.source_started(src.spec.name, src.spec.destinations)
    from syncline.executors import combine, run_sharded

    results, errors = combine(run_sharded(run, progress.rows, stop, handles_signals))
    reports.write(results)
    result = sync_result(results)
    for source in result.sources:
        progress.source_finished(source)
    if errors and stop.is_set():
        raise SyncFailedError(str(SyncInterrupted(stop.signum)), result, signum=stop.signum)
    if errors:
        raise SyncFailedError("; ".join(errors), result)
    return result


def validate(config: ConfigInput) -> list[tuple[str, str]]:
    """Check a config as ``syncline validate-config`` does; raises ``ConfigErrors``.

    Returns (source, why) for each source whose tables can be checked only once it has
    connected (a database, an external plugin): a sync checks those at its start.
    """
    plugins = resolve_plugins(load_config(config))
    check_external_specs(plugins)
    return check_selections(plugins)


def migrate(config: ConfigInput, *, invocation_id: str | None = None) -> None:
    """Create or update every destination table of every source, without syncing."""
    cfg = load_config(config)
    run_migrate(cfg, resolve_plugins(cfg), invocation_id or str(uuid.uuid4()))


def tables(
    config: ConfigInput, *, selected: bool = False, flat: bool = True
) -> dict[str, list[Table]]:
    """The tables each source offers: {source: tables}, in config order.

    ``selected``: only those the source's ``tables`` / ``skip_tables`` select (as
    ``syncline tables --filter spec``). ``flat``: children listed after their parents;
    otherwise only top-level tables, with their children in ``relations``.
    """
    cfg = load_config(config, relaxed=True)
    plugins = resolve_plugins(cfg)
    out: dict[str, list[Table]] = {}
    for src in cfg.sources:
        spec: SourceSpec = src.spec
        found = _listed(plugins.sources[spec.name])
        if selected:
            try:
                found = select_tables(
                    found, spec.tables, spec.skip_tables, spec.skip_dependent_tables
                )
            except SelectionError as e:
                raise SynclineError(f"source {spec.name}: {e}") from None
        out[spec.name] = flatten(found) if flat else found
    return out


def check_connections(config: ConfigInput) -> list[ConnectionResult]:
    """Connect every source and destination once (sources also check their table
    selection); one result per plugin, sources first. Failures are returned, not raised."""
    plugins = resolve_plugins(load_config(config, relaxed=True))
    out: list[ConnectionResult] = []
    for kind, items in (("source", plugins.sources), ("destination", plugins.destinations)):
        for name, resolved in items.items():
            error: str | None = None
            try:
                test_plugin_connection(resolved)
            except Exception as e:
                error = redact(str(e).strip())
            out.append(ConnectionResult(kind, name, resolved.configured.spec.path, error))
    return out


def _refresh(full_refresh: bool | Sequence[str], plugins: Plugins) -> tuple[str, ...] | None:
    if isinstance(full_refresh, bool):
        return () if full_refresh else None
    if not full_refresh:
        return None
    incremental = {
        t.name
        for resolved in plugins.sources.values()
        for t in source_tables(resolved)
        if t.is_incremental
    }
    for name in full_refresh:
        if name not in incremental:
            raise SynclineError(f"--full-refresh: {name} is not an incremental table of any source")
    return tuple(full_refresh)


def source_tables(resolved: ResolvedPlugin[SourceInfo]) -> list[Table]:
    """A source's tables, children flattened after their parents, without connecting."""
    return flatten(_listed(resolved))


def _listed(resolved: ResolvedPlugin[SourceInfo]) -> list[Table]:
    source = resolved.create_source(no_connection=True)
    try:
        return source.tables()
    finally:
        source.close()


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
