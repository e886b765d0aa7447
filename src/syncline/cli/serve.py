"""``syncline plugin serve`` and the per-plugin executables CloudQuery's CLI can start.

CloudQuery starts a local plugin as ``<path> serve --network unix --address <socket>
--log-format json --log-level info ...``; these entry points accept exactly that.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from syncline.cli.logs import JsonFormatter, TextFormatter
from syncline.plugin.contracts import PluginInfo
from syncline.plugin.errors import PluginNotFoundError
from syncline.plugin.registry import available, find_plugin


def find_any(name: str) -> PluginInfo:
    path = name if "/" in name else f"cloudquery/{name}"
    for kind in ("source", "destination"):
        try:
            return find_plugin(kind, path)
        except PluginNotFoundError:
            continue
    known = ", ".join(available("source") + available("destination"))
    raise PluginNotFoundError(f"unknown plugin {name} (available: {known})")


def serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default="localhost:7777", help="host:port or socket path")
    parser.add_argument("--network", default="tcp", choices=["tcp", "unix"])
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--log-format", default="text", choices=["text", "json"])
    # Accepted for compatibility with CloudQuery's CLI; they change nothing here.
    parser.add_argument("--no-sentry", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--license", help=argparse.SUPPRESS)
    parser.add_argument("--otel-endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--otel-endpoint-insecure", action="store_true", help=argparse.SUPPRESS)


def serve(info: PluginInfo, args: argparse.Namespace) -> int:
    from syncline.grpc.server import start

    root = logging.getLogger("syncline")
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("") if args.log_format == "json" else TextFormatter(""))
    root.addHandler(handler)
    level = {"trace": "debug", "warn": "warning"}.get(args.log_level, args.log_level)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.propagate = False
    server, dial = start(info, args.network, args.address)
    root.info("serving %s plugin %s on %s", info.kind, info.path, dial)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop(grace=5).wait()
    return 0


def _executable(path: str, argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"syncline-plugin ({path})")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_arguments(sub.add_parser("serve", help="serve the plugin over gRPC"))
    args, _unknown = parser.parse_known_args(argv)
    return serve(find_any(path), args)


def test_source() -> int:
    return _executable("cloudquery/test")


def sqlite_destination() -> int:
    return _executable("cloudquery/sqlite")


def postgresql_destination() -> int:
    return _executable("cloudquery/postgresql")


def duckdb_destination() -> int:
    return _executable("cloudquery/duckdb")


def file_destination() -> int:
    return _executable("cloudquery/file")
