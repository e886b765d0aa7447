"""The ``syncline`` command line: argument parsing, output and exit codes. No sync logic."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
import uuid
from collections.abc import Sequence
from typing import NoReturn

from syncline import __version__
from syncline.cli import commands
from syncline.cli.logs import (
    DEFAULT_MAX_BACKUPS,
    DEFAULT_MAX_SIZE_MB,
    python_level,
    restore_logging,
    saved_logging,
    setup_logging,
)
from syncline.cli.serve import LOG_LEVELS, find_any, serve, serve_arguments
from syncline.config import secrets as redact
from syncline.config.errors import ConfigError, ConfigErrors
from syncline.plugin.errors import SynclineError

log = logging.getLogger("syncline.cli")


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def global_flags(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """CloudQuery's global flags, accepted before and after the subcommand.

    Only the root parser holds defaults: a subcommand's parser writes a flag into the
    result only when it was given there, so a value given before the subcommand survives.
    """

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    g = parser.add_argument_group("global flags")
    g.add_argument("--log-level", default=default("info"), choices=LOG_LEVELS)
    g.add_argument("--log-format", default=default("text"), choices=["text", "json"])
    # No default here: a served plugin writes a log file only when asked to.
    g.add_argument("--log-file-name", default=default(None), help="default: syncline.log")
    g.add_argument(
        "--log-file-overwrite",
        action="store_true",
        default=default(False),
        help="truncate the log file first",
    )
    g.add_argument(
        "--log-file-max-size",
        type=float,
        metavar="MB",
        default=default(DEFAULT_MAX_SIZE_MB),
        help="rotate the log file at this size: it becomes FILE.1, FILE.1 becomes FILE.2, ... "
        f"(default {DEFAULT_MAX_SIZE_MB}; 0: never rotate)",
    )
    g.add_argument(
        "--log-file-max-backups",
        type=_at_least_one,
        metavar="N",
        default=default(DEFAULT_MAX_BACKUPS),
        help=f"rotated log files kept (default {DEFAULT_MAX_BACKUPS})",
    )
    g.add_argument(
        "--no-log-file", action="store_true", default=default(False), help="write no log file"
    )
    g.add_argument(
        "--log-console",
        action="store_true",
        default=default(False),
        help="log to the console (stderr), at --log-level, in --log-format",
    )
    g.add_argument(
        "--invocation-id",
        default=default(None),
        help="id of this run, e.g. a UUID (default: a random UUID)",
    )
    g.add_argument(
        "--cq-dir",
        default=default(None),
        help="folder for syncline's own files (sync locks); default: the temp folder",
    )
    g.add_argument(
        "--telemetry-level",
        default=default("all"),
        choices=["none", "errors", "stats", "all"],
        help="accepted for compatibility; syncline sends no telemetry",
    )


def _command(
    parent: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse.ArgumentParser:
    p = parent.add_parser(name, help=help_text, description=help_text)
    global_flags(p, defaults=False)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncline",
        description="Sync data from sources to destinations using CloudQuery-style configs.",
    )
    global_flags(parser, defaults=True)
    parser.add_argument("--version", action="version", version=f"syncline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = _command(sub, name, help_text)
        p.add_argument("paths", nargs="+", metavar="PATH", help="config files or directories")
        return p

    p = add("sync", "Sync every source to its destinations.")
    p.add_argument("--no-migrate", action="store_true", help="do not create or change tables")
    p.add_argument("--summary-location", help="append a JSON summary line per destination here")
    p.add_argument(
        "--tables-metrics-location", help="write a table of per-table metrics to this file"
    )
    p.add_argument("--shard", help="sync only shard N of T (format N/T), e.g. 1/4")
    p.add_argument(
        "--executor",
        default="local",
        choices=["local", "processes", "dask"],
        help="where shards run: this process (default), a local process pool, a Dask cluster",
    )
    p.add_argument("--shards", type=int, help="number of shards (default: twice the workers)")
    p.add_argument("--address", help="Dask scheduler address (default: a local cluster)")
    p.add_argument("--license", help="accepted for compatibility; no effect")
    p.add_argument("--cq-columns-not-null", action="store_true", help=argparse.SUPPRESS)
    commands.add_sync_arguments(p)

    p = add("migrate", "Create or update the destination tables of every source, without syncing.")
    p.add_argument("--license", help="accepted for compatibility; no effect")

    p = add("tables", "Write documentation of each source's tables.")
    p.add_argument("--format", default="json", choices=["json", "markdown"])
    p.add_argument("--output-dir", default="cq-docs", help="default: %(default)s")
    p.add_argument(
        "--filter",
        default="all",
        choices=["all", "spec"],
        help="all tables (default) or only those the source's spec selects",
    )

    add("validate-config", "Check config files, including each plugin's own spec.")
    add("test-connection", "Check that every plugin in the config can connect.")

    state = _command(sub, "state", "Show or reset incremental-table cursors.")
    state_sub = state.add_subparsers(dest="state_command", required=True, metavar="ACTION")
    show = _command(state_sub, "show", "List every source's cursor keys and values.")
    show.add_argument("paths", nargs="+", metavar="PATH")
    reset = _command(state_sub, "reset", "Clear cursors so the next sync is a full one.")
    reset.add_argument("paths", nargs="+", metavar="PATH")
    reset.add_argument("--table", action="append", default=[], help="only cursors of this table")
    reset.add_argument("--source", action="append", default=[], help="only this source")
    commands.add_state_actions(state_sub, _command)
    plugin = _command(sub, "plugin", "Serve a built-in plugin over gRPC.")
    plugin_sub = plugin.add_subparsers(dest="plugin_command", required=True, metavar="ACTION")
    serve = _command(
        plugin_sub,
        "serve",
        "Serve a built-in plugin (source, destination or transformer) over protocol v3.",
    )
    serve.add_argument("name", help="plugin name, e.g. test, sqlite, basic, cloudquery/postgresql")
    serve.add_argument(
        "--kind",
        choices=["source", "destination", "transformer"],
        help="for names that are both (postgresql)",
    )
    serve_arguments(serve, log_flags=False)
    return parser


def run() -> NoReturn:
    """The ``syncline`` command: ``main`` in a process of its own, which then exits."""
    code = main()
    # What is left is freed as the process ends: the collector need not walk every object
    # of the engine's libraries once more at exit (a tenth of a second of a no-op sync).
    gc.freeze()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    redact.forget_all()  # secrets are those of this run's config
    if args.command == "plugin":
        try:
            info = find_any(args.name, args.kind)
            return serve(args, info.kind, info.path, lambda: info)
        except SynclineError as e:
            print(f"Error: {e}", file=sys.stderr)
            return 1
    saved = saved_logging()
    try:
        return _run(args)
    finally:
        restore_logging(saved)


def _run(args: argparse.Namespace) -> int:
    invocation_id = args.invocation_id or str(uuid.uuid4())
    counter = setup_logging(
        level=python_level(args.log_level),
        fmt=args.log_format,
        file_name=None if args.no_log_file else (args.log_file_name or "syncline.log"),
        overwrite=args.log_file_overwrite,
        invocation_id=invocation_id,
        console=args.log_console,
        max_size_mb=args.log_file_max_size,
        max_backups=args.log_file_max_backups,
    )
    for handler in logging.getLogger("syncline").handlers:
        handler.addFilter(redact.RedactingFilter())
    started = time.monotonic()
    try:
        return commands.dispatch(args, invocation_id, counter, started)
    except (ConfigError, ConfigErrors) as e:
        _fail(str(e))
        return 1
    except SynclineError as e:
        _fail(str(e))
        return 1
    except KeyboardInterrupt:
        _fail("received interrupt signal")
        return 130


def _fail(message: str) -> None:
    message = redact.redact(message)
    log.error(message, extra={"console": False})
    print(f"Error: {message}", file=sys.stderr)
