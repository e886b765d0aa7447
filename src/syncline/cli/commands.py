"""One function per command; each returns the exit code."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from syncline.api.inputs import config_texts
from syncline.api.run import check_shard
from syncline.cli.docs import write_docs
from syncline.cli.logs import Counter
from syncline.cli.progress import LogProgress, TerminalProgress
from syncline.cli.state_actions import add_state_actions, history, parse_target, rollback, verify
from syncline.config.models import SourceSpec
from syncline.config.reader import Config, read_config
from syncline.config.secrets import redact
from syncline.engine.migrate import run_migrate
from syncline.engine.plugins import (
    Plugins,
    ResolvedPlugin,
    check_external_specs,
    check_selection,
    check_selections,
    resolve_plugins,
)
from syncline.engine.summary import SourceResult, append_summaries, write_tables_metrics
from syncline.engine.sync import StopRequest, SyncFailed, SyncSettings, open_state, run_sync
from syncline.executors import ShardedRun, combine, run_sharded
from syncline.plugin.errors import SynclineError
from syncline.schema.selection import SelectionError, select_tables
from syncline.schema.table import flatten
from syncline.state.keys import key_of_table

__all__ = ["add_state_actions", "add_sync_arguments", "dispatch"]

_SHARD = re.compile(r"^(\d+)/(\d+)$")
log = logging.getLogger("syncline.cli")


def dispatch(
    args: argparse.Namespace, invocation_id: str, console: Console, counter: Counter, started: float
) -> int:
    relaxed = args.command in ("tables", "test-connection", "state")
    print(f"Loading spec(s) from {', '.join(args.paths)}")
    config = read_config(args.paths, relaxed=relaxed)
    plugins = resolve_plugins(config)
    if args.command == "sync":
        check_selections(plugins)  # before anything is created; a database source at its start
        return sync(args, config, plugins, invocation_id, console, counter, started)
    if args.command == "migrate":
        run_migrate(config, plugins, invocation_id)
        print("Migration completed successfully.")
        return 0
    if args.command == "tables":
        return tables(args, config, plugins)
    if args.command == "validate-config":
        check_external_specs(plugins)
        for source, reason in check_selections(plugins):
            print(f"Note: tables of source {source} not checked: {reason}")
        print("Config is valid.")
        return 0
    if args.command == "test-connection":
        return test_connection(config, plugins, console)
    if args.command == "state":
        return state(args, config, plugins, console)
    raise SynclineError(f"unknown command {args.command}")


def add_sync_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="ignore the cursors of incremental tables for this run: sync them in full, "
        "delete their stale rows, commit the new cursors at the end",
    )
    p.add_argument(
        "--table",
        action="append",
        default=[],
        help="with --full-refresh: only this incremental table (repeatable)",
    )


def _full_refresh(args: argparse.Namespace, plugins: Plugins) -> tuple[str, ...] | None:
    tables: list[str] = getattr(args, "table", []) or []
    if not getattr(args, "full_refresh", False):
        if tables:
            raise SynclineError("--table needs --full-refresh")
        return None
    if tables:
        incremental: set[str] = set()
        for resolved in plugins.sources.values():
            incremental |= _table_names(plugins, resolved.configured.spec, incremental_only=True)
        for t in tables:
            if t not in incremental:
                raise SynclineError(
                    f"--full-refresh: {t} is not an incremental table of any source"
                )
    return tuple(tables)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = _SHARD.match(text)
    if m is None:
        raise SynclineError(f"invalid shard format: {text}. Valid format is num/total, e.g. 1/4")
    return check_shard((int(m.group(1)), int(m.group(2))), text)


def sync(
    args: argparse.Namespace,
    config: Config,
    plugins: Plugins,
    invocation_id: str,
    console: Console,
    counter: Counter,
    started: float,
) -> int:
    if args.executor != "local":
        return _sync_sharded(args, config, invocation_id, counter, started)
    stop = StopRequest()
    settings = SyncSettings(
        no_migrate=args.no_migrate,
        shard=parse_shard(args.shard),
        invocation_id=invocation_id,
        stop=stop,
        lock_dir=str(Path(args.cq_dir) / "locks") if args.cq_dir else None,
        full_refresh=_full_refresh(args, plugins),
    )

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second signal: stop now
        print(
            f"Stopping after the rows already read ({signal.Signals(signum).name})...",
            file=sys.stderr,
        )
        stop.request(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    live = console.is_terminal and not args.log_console
    progress = TerminalProgress(console) if live else LogProgress()
    results: list[SourceResult] = []
    for src in config.sources:
        print(f"Starting sync for: {src.spec.name} -> [{', '.join(src.spec.destinations)}]")
    try:
        results = run_sync(config, plugins, settings, progress)
    except SyncFailed as e:
        results = e.results
        if e.interrupted:
            print(
                "Sync interrupted: rows already read are written and their cursors committed.",
                file=sys.stderr,
            )
            return 128 + e.interrupted
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if args.summary_location and results:
            append_summaries(args.summary_location, results)
        if args.tables_metrics_location and results:
            write_tables_metrics(args.tables_metrics_location, results)
        if results:
            _print_summary(results, counter, started)
    return 0


def _sync_sharded(
    args: argparse.Namespace, config: Config, invocation_id: str, counter: Counter, started: float
) -> int:
    """Shards on a process pool or a Dask cluster; one summary adds them up."""
    if args.shard:
        raise SynclineError("--shard runs one shard here: use it with --executor local")
    if args.full_refresh or args.table:
        raise SynclineError("--full-refresh runs with --executor local only")
    if args.shards is not None and args.shards < 1:
        raise SynclineError(f"invalid --shards {args.shards}: must be at least 1")
    run = ShardedRun(
        texts=tuple(config_texts(args.paths)),
        executor=args.executor,
        invocation_id=invocation_id,
        shards=args.shards,
        address=args.address,
        no_migrate=args.no_migrate,
    )
    progress = LogProgress()
    for src in config.sources:
        print(f"Starting sync for: {src.spec.name} -> [{', '.join(src.spec.destinations)}]")
        progress.source_started(src.spec.name, src.spec.destinations)
    results, errors = combine(run_sharded(run, progress.rows))
    if args.summary_location and results:
        append_summaries(args.summary_location, results)
    if args.tables_metrics_location and results:
        write_tables_metrics(args.tables_metrics_location, results)
    if results:
        _print_summary(results, counter, started)
    if errors:
        raise SynclineError("; ".join(errors))
    return 0


def _print_summary(results: list[SourceResult], counter: Counter, started: float) -> None:
    rows = sum(r.rows for r in results)
    errors = sum(r.errors for r in results)
    failed = any(r.failed for r in results)
    interrupted = any((r.failed or "").startswith("sync interrupted") for r in results)
    elapsed = int(time.monotonic() - started)
    figures = f"Resources: {rows}, Errors: {errors}, Warnings: {counter.warnings}, Time: {elapsed}s"
    if interrupted:
        outcome = "Sync interrupted."
    elif failed:
        outcome = "Sync failed."
    elif errors:
        outcome = "Sync completed with errors, see logs for details."
    else:
        outcome = "Sync completed successfully."
    print(f"{outcome} {figures}")
    log.info(
        outcome,
        extra={
            "resources": rows,
            "errors": errors,
            "warnings": counter.warnings,
            "duration_s": elapsed,
        },
    )


def tables(args: argparse.Namespace, config: Config, plugins: Plugins) -> int:
    for src in config.sources:
        source = plugins.sources[src.spec.name].create(no_connection=True)
        try:
            documented = source.tables()
            if args.filter == "spec":
                spec: SourceSpec = src.spec
                try:
                    documented = select_tables(
                        documented, spec.tables, spec.skip_tables, spec.skip_dependent_tables
                    )
                except SelectionError as e:
                    raise SynclineError(f"source {spec.name}: {e}") from None
            path = write_docs(src.spec.name, documented, args.output_dir, args.format)
        finally:
            source.close()
        print(f"Wrote {args.format} docs of {src.spec.name} to {path}")
    return 0


def _test_one(resolved: ResolvedPlugin) -> None:
    plugin: Any = resolved.create()
    try:
        plugin.test_connection()
        if resolved.kind == "source":
            check_selection(resolved, plugin.tables())
    finally:
        plugin.close()


def test_connection(config: Config, plugins: Plugins, console: Console) -> int:
    grid = RichTable(title="Test Connection Results")
    for col in ("kind", "name", "path", "result"):
        grid.add_column(col)
    failed = 0
    for kind, items in (("source", plugins.sources), ("destination", plugins.destinations)):
        for name, resolved in items.items():
            try:
                _test_one(resolved)
                outcome = "Success"
            except Exception as e:
                failed += 1
                outcome = f"Failure: {redact(str(e).strip())}"
            # Text, not markup: messages such as "[libpq] ..." are shown as they are.
            grid.add_row(kind, Text(name), Text(resolved.configured.spec.path), Text(outcome))
    console.print(grid)
    if failed:
        raise SynclineError("at least one test connection failed")
    return 0


def _sources_with_backend(config: Config, names: list[str]) -> list[SourceSpec]:
    specs = [s for s in config.source_specs() if not names or s.name in names]
    unknown = set(names) - {s.name for s in config.source_specs()}
    if unknown:
        raise SynclineError(f"unknown source {sorted(unknown)[0]}")
    return specs


def state(args: argparse.Namespace, config: Config, plugins: Plugins, console: Console) -> int:
    names: list[str] = getattr(args, "source", []) or []
    mismatches = 0
    for spec in _sources_with_backend(config, names):
        client = open_state(spec, config, plugins)
        if client is None:
            print(f"source {spec.name}: no backend_options, cursors are not kept")
            continue
        try:
            items = client.items()
            if args.state_command == "verify":
                mismatches += verify(spec, client, plugins)
                continue
            if args.state_command == "history":
                history(spec, client, args.table)
                continue
            if args.state_command == "rollback":
                rollback(spec, client, parse_target(args.to), args.table)
                continue
            if args.state_command == "show":
                table = spec.backend_options.table_name if spec.backend_options else ""
                print(f"source {spec.name}: state table {table}")
                grid = RichTable()
                grid.add_column("key")
                grid.add_column("value")
                for k, v in items.items():
                    grid.add_row(k, v)
                Console(file=sys.stdout, highlight=False, width=200).print(grid)
                continue
            wanted = args.table
            if wanted:
                known = _table_names(plugins, spec)
                for t in wanted:
                    if known and t not in known:
                        raise SynclineError(f"source {spec.name} has no table {t}")
            keys = [k for k in items if not wanted or any(key_of_table(k, t) for t in wanted)]
            client.commit(dict.fromkeys(keys))
            print(f"source {spec.name}: cleared {len(keys)} cursor(s): {', '.join(keys) or '-'}")
        finally:
            client.close()
    if mismatches:
        raise SynclineError(f"{mismatches} cursor(s) do not match their destination tables")
    return 0


def _table_names(plugins: Plugins, spec: SourceSpec, incremental_only: bool = False) -> set[str]:
    source = plugins.sources[spec.name].create(no_connection=True)
    try:
        tables = flatten(source.tables())
        return {t.name for t in tables if t.is_incremental or not incremental_only}
    finally:
        source.close()
