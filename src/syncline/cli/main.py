"""The ``syncline`` command line: argument parsing, output and exit codes. No sync logic."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from collections.abc import Sequence

from rich.console import Console

from syncline import __version__
from syncline.cli import commands
from syncline.cli.logs import setup_logging
from syncline.cli.serve import find_any, serve, serve_arguments
from syncline.config.errors import ConfigError, ConfigErrors
from syncline.plugin.errors import SynclineError

log = logging.getLogger("syncline.cli")


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("logging")
    g.add_argument(
        "--log-level", default="info", choices=["trace", "debug", "info", "warn", "error"]
    )
    g.add_argument("--log-format", default="text", choices=["text", "json"])
    g.add_argument("--log-file-name", default="syncline.log", help="default: %(default)s")
    g.add_argument("--log-file-overwrite", action="store_true", help="truncate the log file first")
    g.add_argument("--no-log-file", action="store_true", help="do not write a log file")
    g.add_argument("--invocation-id", default=None, help="id of this run (default: random UUID)")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="syncline",
        description="Sync data from sources to destinations using CloudQuery-style configs.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"syncline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.add_argument("paths", nargs="+", metavar="PATH", help="config files or directories")
        return p

    p = add("sync", "Sync every source to its destinations.")
    p.add_argument("--no-migrate", action="store_true", help="do not create or change tables")
    p.add_argument("--summary-location", help="append a JSON summary line per destination here")
    p.add_argument("--shard", help="sync only shard N of T (format N/T), e.g. 1/4")
    p.add_argument(
        "--executor",
        default="local",
        choices=["local", "processes", "dask"],
        help="where shards run: this process (default), a local process pool, a Dask cluster",
    )
    p.add_argument("--shards", type=int, help="number of shards (default: twice the workers)")
    p.add_argument("--address", help="Dask scheduler address (default: a local cluster)")

    add("migrate", "Create or update the destination tables of every source, without syncing.")

    p = add("tables", "Write documentation of each source's tables.")
    p.add_argument("--format", default="json", choices=["json", "markdown"])
    p.add_argument("--output-dir", default="cq-docs", help="default: %(default)s")

    add("validate-config", "Check config files, including each plugin's own spec.")
    add("test-connection", "Check that every plugin in the config can connect.")

    state = sub.add_parser(
        "state", help="Show or reset incremental-table cursors.", parents=[common]
    )
    state_sub = state.add_subparsers(dest="state_command", required=True, metavar="ACTION")
    show = state_sub.add_parser(
        "show", help="List every source's cursor keys and values.", parents=[common]
    )
    show.add_argument("paths", nargs="+", metavar="PATH")
    reset = state_sub.add_parser(
        "reset", help="Clear cursors so the next sync is a full one.", parents=[common]
    )
    reset.add_argument("paths", nargs="+", metavar="PATH")
    reset.add_argument("--table", action="append", default=[], help="only cursors of this table")
    reset.add_argument("--source", action="append", default=[], help="only this source")
    plugin = sub.add_parser("plugin", help="Serve a built-in plugin over gRPC.", parents=[common])
    plugin_sub = plugin.add_subparsers(dest="plugin_command", required=True, metavar="ACTION")
    serve = plugin_sub.add_parser(
        "serve",
        help="Serve a built-in plugin (source, destination or transformer) over protocol v3.",
        conflict_handler="resolve",
    )
    serve.add_argument("name", help="plugin name, e.g. test, sqlite, basic, cloudquery/postgresql")
    serve.add_argument(
        "--kind",
        choices=["source", "destination", "transformer"],
        help="for names that are both (postgresql)",
    )
    serve_arguments(serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "plugin":
        try:
            return serve(find_any(args.name, args.kind), args)
        except SynclineError as e:
            print(f"Error: {e}", file=sys.stderr)
            return 1
    invocation_id = args.invocation_id or str(uuid.uuid4())
    level = (
        "debug"
        if args.log_level == "trace"
        else ("warning" if args.log_level == "warn" else args.log_level)
    )
    counter = setup_logging(
        level=level,
        fmt=args.log_format,
        file_name=None if args.no_log_file else args.log_file_name,
        overwrite=args.log_file_overwrite,
        invocation_id=invocation_id,
    )
    console = Console(stderr=False, highlight=False)
    started = time.monotonic()
    try:
        return commands.dispatch(args, invocation_id, console, counter, started)
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
    log.error(message, extra={"console": False})
    print(f"Error: {message}", file=sys.stderr)
