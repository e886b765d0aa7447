"""Where a sync's shards run: in this process, a local process pool, or a Dask cluster.

Every shard is one engine run over the whole config with ``shard=(n, T)``: it syncs its
share of each source's (table, client) pairs, commits its own cursors through its own
ledger, and deletes as stale only its own rows (its ``_cq_source_name`` carries the shard
suffix), and only when it was clean. What must be decided once for all shards is decided
here before they start: tables are migrated, state tables created and cursors guarded.
A stop (the caller's event or a signal it handles) reaches every shard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from syncline.config.models import DestinationSpec, MigrateMode
from syncline.config.reader import Config, read_config
from syncline.config.selection import select_sources
from syncline.engine.migrate import run_migrate
from syncline.engine.plugins import Plugins, resolve_plugins
from syncline.engine.settings import StopRequest
from syncline.engine.summary import SourceResult, TableStats
from syncline.engine.summary_table import SUMMARY
from syncline.engine.transform import DestinationTransform, render_sync_group_id
from syncline.executors.guard import guard_before_shards
from syncline.executors.shards import ShardOutcome, ShardTask
from syncline.plugin.errors import SynclineError

ExecutorName = Literal["local", "processes", "dask"]
EXECUTORS: tuple[str, ...] = ("local", "processes", "dask")


@dataclass(frozen=True)
class ShardedRun:
    texts: tuple[tuple[str, str], ...]
    executor: ExecutorName
    invocation_id: str
    shards: int | None = None  # default: twice the workers
    address: str | None = None  # Dask scheduler; None starts a local cluster
    sources: tuple[str, ...] | None = None
    tables: tuple[str, ...] | None = None
    no_migrate: bool = False


def run_sharded(
    run: ShardedRun,
    on_rows: Callable[[str, int], None],
    stop: StopRequest | None = None,
    handles_signals: bool = False,
) -> list[ShardOutcome]:
    """Prepare once (tables, state tables, the cursor guard), then run every shard; failed
    shards are reported in their outcome, never raised, so that the others' results are
    kept."""
    config = select_sources(read_config([], texts=list(run.texts)), run.sources, run.tables)
    plugins = resolve_plugins(config)
    _refuse_single_writer_destinations(plugins)
    if not run.no_migrate:
        run_migrate(config, plugins, run.invocation_id)
        _migrate_summary_tables(config, plugins, run.invocation_id)
    # Creates the state tables, and guards cursors before any shard reads one.
    guard_before_shards(config, plugins, run.invocation_id)

    def tasks(total: int) -> list[ShardTask]:
        return [
            ShardTask(run.texts, (n, total), run.invocation_id, run.sources, run.tables)
            for n in range(1, total + 1)
        ]

    if run.executor == "dask":
        from syncline.executors.dask import dask_client, run_on_dask, workers_of

        with dask_client(run.address) as client:
            total = run.shards or 2 * workers_of(client)
            return run_on_dask(client, tasks(total), on_rows, stop)
    if run.executor == "processes":
        import os

        from syncline.executors.pool import run_in_processes

        workers = os.cpu_count() or 1
        total = run.shards or 2 * workers
        return run_in_processes(tasks(total), min(workers, total), on_rows, stop, handles_signals)
    raise SynclineError(f"unknown executor {run.executor} (one of {', '.join(EXECUTORS)})")


def _refuse_single_writer_destinations(plugins: Plugins) -> None:
    for name, resolved in plugins.destinations.items():
        if not resolved.info.multi_process_writes:
            raise SynclineError(
                f"destination {name} ({resolved.info.path}) takes writes from one process at a "
                "time: use --executor local, or another destination for sharded runs"
            )


def _migrate_summary_tables(config: Config, plugins: Plugins, invocation_id: str) -> None:
    """The summary table of each destination with ``send_sync_summary``: a local sync
    creates it as it writes its row, shards only write theirs."""
    now = datetime.now(UTC)
    for src in config.sources:
        for name in src.spec.destinations:
            resolved = plugins.destinations[name]
            dspec: DestinationSpec = resolved.configured.spec
            if not dspec.send_sync_summary:
                continue
            transform = DestinationTransform(
                sync_time=now,
                source_name=src.spec.name,
                write_mode=dspec.write_mode,
                pk_mode=dspec.pk_mode,
                sync_group_id=render_sync_group_id(dspec.sync_group_id, now, invocation_id),
                deterministic_cq_id=src.spec.deterministic_cq_id,
            )
            plugin = resolved.create_destination(invocation_id)
            try:
                plugin.migrate_tables(
                    [transform.table(SUMMARY)], dspec.migrate_mode is MigrateMode.FORCED
                )
            finally:
                plugin.close()


def combine(outcomes: list[ShardOutcome]) -> tuple[list[SourceResult], list[str]]:
    """One result per source with every shard's tables added up, and the shards' errors."""
    combined: dict[str, SourceResult] = {}
    errors: list[str] = []
    for outcome in sorted(outcomes, key=lambda o: o.shard):
        if outcome.error:
            errors.append(f"shard {outcome.shard[0]}/{outcome.shard[1]}: {outcome.error}")
        for r in outcome.results:
            into = combined.get(r.source_name)
            if into is None:
                into = combined[r.source_name] = SourceResult(
                    source_name=r.source_name,
                    source_path=r.source_path,
                    destinations=r.destinations,
                    sync_id=r.sync_id,
                    sync_time=r.sync_time,
                )
            for name, stats in r.tables.items():
                t = into.tables.setdefault(name, TableStats())
                t.rows += stats.rows
                t.errors += stats.errors
                t.started = min(t.started, stats.started) if t.started else stats.started
                t.finished = max(t.finished, stats.finished)
            into.duration_s = max(into.duration_s, r.duration_s)
            into.cursors.update(r.cursors)
            into.warnings += r.warnings
            if r.failed:
                into.failed = "; ".join(x for x in (into.failed, r.failed) if x)
    return list(combined.values()), errors


__all__ = ["EXECUTORS", "ExecutorName", "ShardedRun", "combine", "run_sharded"]
