"""One function per command: parse its flags, call the public API, show the result.

Each returns the exit code; errors are raised and shown by ``main``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from syncline import api
from syncline.api.results import SourceSyncResult, SyncResult
from syncline.cli.logs import Counter
from syncline.cli.progress import LogProgress, TerminalProgress
from syncline.cli.state_actions import add_state_actions, history, rollback, show, verify
from syncline.plugin.errors import SynclineError

if TYPE_CHECKING:  # rich is imported only when something is drawn on a terminal
    from rich.console import Console

__all__ = ["add_state_actions", "add_sync_arguments", "dispatch"]

_SHARD = re.compile(r"^(\d+)/(\d+)$")
log = logging.getLogger("syncline.cli")


def dispatch(args: argparse.Namespace, invocation_id: str, counter: Counter, started: float) -> int:
    print(f"Loading spec(s) from {', '.join(args.paths)}")
    if args.command == "sync":
        return sync(args, invocation_id, counter, started)
    if args.command == "migrate":
        api.migrate(args.paths, invocation_id=invocation_id)
        print("Migration completed successfully.")
        return 0
    if args.command == "tables":
        return tables(args)
    if args.command == "validate-config":
        for source, reason in api.validate(args.paths):
            print(f"Note: tables of source {source} not checked: {reason}")
        print("Config is valid.")
        return 0
    if args.command == "test-connection":
        return test_connection(args)
    if args.command == "state":
        return state(args)
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


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = _SHARD.match(text)
    if m is None:
        raise SynclineError(f"invalid shard format: {text}. Valid format is num/total, e.g. 1/4")
    from syncline.api.run import check_shard

    return check_shard((int(m.group(1)), int(m.group(2))), text)


class _Shown(api.NoProgress):
    """What a sync shows: a line as each source starts, then live or periodic progress."""

    def __init__(self, view: TerminalProgress | LogProgress) -> None:
        self.view = view

    def source_started(self, source: str, destinations: list[str]) -> None:
        print(f"Starting sync for: {source} -> [{', '.join(destinations)}]")
        self.view.source_started(source, destinations)

    def table_started(self, table: str) -> None:
        self.view.table_started(table)

    def rows(self, table: str, count: int) -> None:
        self.view.rows(table, count)

    def rows_written(self, table: str, count: int) -> None:
        self.view.rows_written(table, count)

    def table_error(self, table: str, message: str) -> None:
        self.view.table_error(table, message)

    def table_finished(self, table: str) -> None:
        self.view.table_finished(table)

    def source_finished(self, result: SourceSyncResult) -> None:
        self.view.source_finished(result)


def _tell_stopping(signum: int) -> None:
    print(
        f"Stopping after the rows already read ({signal.Signals(signum).name})...",
        file=sys.stderr,
    )


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def _terminal() -> Console | None:
    """A console when stdout is a terminal, as rich decides it. Rich says so only for a TTY or
    when the environment asks (TTY_COMPATIBLE, FORCE_COLOR): otherwise it is not imported."""
    try:
        tty = sys.stdout.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not (tty or "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ):
        return None
    console = _console()
    return console if console.is_terminal else None


def sync(args: argparse.Namespace, invocation_id: str, counter: Counter, started: float) -> int:
    if args.table and not args.full_refresh:
        raise SynclineError("--table needs --full-refresh")
    local = args.executor == "local"
    console = _terminal() if local and not args.log_console else None
    view = TerminalProgress(console) if console is not None else LogProgress()
    try:
        result = _run_sync(args, view, invocation_id)
    except api.SyncFailedError as e:
        if e.result.sources:
            _print_summary(e.result, counter, started)
        if e.signum:
            print(
                "Sync interrupted: rows already read are written and their cursors committed.",
                file=sys.stderr,
            )
            return 128 + e.signum
        raise
    if result.sources:
        _print_summary(result, counter, started)
    return 0


def _run_sync(
    args: argparse.Namespace, view: TerminalProgress | LogProgress, invocation_id: str
) -> SyncResult:
    config: api.ConfigInput = args.paths
    started_ahead = False
    if args.executor == "local":
        config, started_ahead = _read_and_start_local_plugins(args.paths)
    try:
        return api.sync(
            config,
            shard=parse_shard(args.shard),
            full_refresh=tuple(args.table) or args.full_refresh,
            no_migrate=args.no_migrate,
            progress=_Shown(view),
            # from another thread (a program running the CLI in-process) signals stay its own;
            # sharded runs pass a stop on to every shard
            handle_signals=threading.current_thread() is threading.main_thread(),
            on_signal=_tell_stopping,
            invocation_id=invocation_id,
            executor=args.executor,
            shards=args.shards,
            address=args.address,
            lock_dir=str(Path(args.cq_dir) / "locks") if args.cq_dir else None,
            summary_location=args.summary_location,
            tables_metrics_location=args.tables_metrics_location,
        )
    finally:
        view.close()  # no progress after the sync, however it ended
        if started_ahead:
            from syncline.grpc.prestart import stop_unused

            stop_unused()


def _read_and_start_local_plugins(paths: list[str]) -> tuple[api.ConfigInput, bool]:
    """The config, read, with the processes of its ``registry: local`` sources and
    destinations started: they import their libraries while this process imports the engine
    (the engine takes them as it starts each plugin, and stops what it did not take).

    They are started from the documents as written, before the config models (pydantic) are
    imported to check them: a plugin the checked config names differently is started again
    where it is used, and the unused one stopped. Also says whether any was started."""
    local = _local_plugins(paths)
    if not local:
        return api.load_config(paths), False
    from syncline.grpc.prestart import start_ahead, stop_unused

    start_ahead(local)
    try:
        return api.load_config(paths), True
    except BaseException:  # the check failed: nothing will take them
        stop_unused()
        raise


def _local_plugins(paths: list[str]) -> list[tuple[str, str, str]]:
    """(kind, name, path) of each source and destination document that names an executable
    with ``registry: local``; nothing if the documents cannot be read (the check says why)."""
    from syncline.config.errors import ConfigError, ConfigErrors
    from syncline.config.loader import load_documents

    try:
        docs = load_documents(paths, defer_env=True)
    except (ConfigError, ConfigErrors):
        return []
    found = []
    for doc in docs:
        data = doc.data if isinstance(doc.data, dict) else {}
        spec = data.get("spec")
        if data.get("kind") not in ("source", "destination") or not isinstance(spec, dict):
            continue
        name, path = spec.get("name"), spec.get("path")
        if spec.get("registry") != "local" or not isinstance(name, str):
            continue
        if isinstance(path, str) and os.access(path, os.X_OK):
            found.append((str(data["kind"]), name, path))
    return found


def _print_summary(result: SyncResult, counter: Counter, started: float) -> None:
    rows = result.rows
    errors = result.errors
    failed = any(s.error for s in result.sources)
    interrupted = any((s.error or "").startswith("sync interrupted") for s in result.sources)
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


def tables(args: argparse.Namespace) -> int:
    from syncline.cli.docs import write_docs

    found = api.tables(args.paths, selected=args.filter == "spec", flat=False)
    for source, documented in found.items():
        path = write_docs(source, documented, args.output_dir, args.format)
        print(f"Wrote {args.format} docs of {source} to {path}")
    return 0


def test_connection(args: argparse.Namespace) -> int:
    from rich.table import Table as RichTable
    from rich.text import Text

    grid = RichTable(title="Test Connection Results")
    for col in ("kind", "name", "path", "result"):
        grid.add_column(col)
    results = api.check_connections(args.paths)
    for r in results:
        outcome = "Success" if r.ok else f"Failure: {r.error}"
        # Text, not markup: messages such as "[libpq] ..." are shown as they are.
        grid.add_row(r.kind, Text(r.name), Text(r.path), Text(outcome))
    _console().print(grid)
    if not all(r.ok for r in results):
        raise SynclineError("at least one test connection failed")
    return 0


def state(args: argparse.Namespace) -> int:
    sources: list[str] = getattr(args, "source", []) or []
    tables: list[str] = getattr(args, "table", []) or []
    action = args.state_command
    if action == "show":
        show(api.read_state(args.paths, sources=sources or None))
    elif action == "reset":
        for name, keys in api.reset_state(args.paths, sources=sources, tables=tables).items():
            if keys is None:
                print(f"source {name}: no backend_options, cursors are not kept")
            else:
                print(f"source {name}: cleared {len(keys)} cursor(s): {', '.join(keys) or '-'}")
    elif action == "verify":
        verify(api.verify_state(args.paths, sources=sources))
    elif action == "history":
        history(api.state_history(args.paths, sources=sources, tables=tables))
    elif action == "rollback":
        rollback(args.paths, args.to, sources, tables)
    return 0
