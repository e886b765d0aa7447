"""``syncline plugin serve`` and the per-plugin executables CloudQuery's CLI can start.

CloudQuery starts a local plugin as ``<path> serve --network unix --address <socket>
--log-format json --log-level info ...``; these entry points accept exactly that.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from syncline.cli import no_pydantic_plugins, one_blas_thread
from syncline.cli.logs import JsonFormatter, TextFormatter, python_level

if TYPE_CHECKING:  # the executables import plugins only once they listen (grpc.early)
    from syncline.plugin.contracts import PluginInfo, PluginKind

LOG_LEVELS = ["trace", "debug", "info", "warn", "error"]


def find_any(name: str, kind: str | None = None) -> PluginInfo:
    """A built-in plugin by name; ``kind`` picks one when a name is both a source and a
    destination (postgresql)."""
    from syncline.plugin.errors import PluginNotFoundError
    from syncline.plugin.registry import available, find_plugin

    path = name if "/" in name else f"cloudquery/{name}"
    every: list[PluginKind] = ["source", "destination", "transformer"]
    kinds = [k for k in every if kind in (None, k)]
    found = []
    for k in kinds:
        try:
            found.append(find_plugin(k, path))
        except PluginNotFoundError:
            continue
    if len(found) == 1:
        return found[0]
    if found:
        raise PluginNotFoundError(f"{path} is both a source and a destination: add --kind")
    known = ", ".join(f"{k} {p}" for k in every for p in available(k))
    raise PluginNotFoundError(f"unknown plugin {name} (available: {known})")


def serve_arguments(parser: argparse.ArgumentParser, *, log_flags: bool = True) -> None:
    """``serve``'s flags as CloudQuery passes them; ``log_flags=False`` where the global
    flags already provide --log-level and --log-format."""
    parser.add_argument("--address", default="localhost:7777", help="host:port or socket path")
    parser.add_argument("--network", default="tcp", choices=["tcp", "unix"])
    if log_flags:
        parser.add_argument("--log-level", default="info", choices=LOG_LEVELS)
        parser.add_argument("--log-format", default="text", choices=["text", "json"])
    # Accepted for compatibility with CloudQuery's CLI; they change nothing here.
    parser.add_argument("--no-sentry", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--license", help=argparse.SUPPRESS)
    parser.add_argument("--otel-endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--otel-endpoint-insecure", action="store_true", help=argparse.SUPPRESS)


def serve(args: argparse.Namespace, kind: str, path: str, load: Callable[[], PluginInfo]) -> int:
    """Listen at once, then load the plugin and serve it until SIGTERM or SIGINT."""
    one_blas_thread()
    no_pydantic_plugins()
    # What loading makes lives as long as the process: made without the collector, then
    # frozen out of its reach, so no pass walks it (not at load, not in a long stream).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _serve(args, kind, path, load, collecting)
    finally:
        if collecting:
            gc.enable()


def _serve(
    args: argparse.Namespace,
    kind: str,
    path: str,
    load: Callable[[], PluginInfo],
    collecting: bool,
) -> int:
    from syncline.grpc.early import listen

    root = _plugin_logging(args)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    server, dial, plugin, discovery = listen(args.network, args.address)
    root.info("serving %s plugin %s on %s", kind, path, dial)
    try:
        from syncline.grpc.server import Discovery, PluginServer

        plugin.resolve(PluginServer(load()))
        discovery.resolve(Discovery())
        gc.freeze()
        if collecting:
            gc.enable()
    except Exception as e:
        root.error("cannot load %s plugin %s: %s", kind, path, e)
        server.stop(grace=0)
        return 1
    # Woken every second: a signal caught by one of gRPC's threads only runs its handler
    # when the main thread next wakes, and an untimed wait might never wake.
    while not done.wait(timeout=1.0):
        pass
    # CloudQuery's CLI kills a plugin that has not exited 5 s after its interrupt; on a busy
    # machine the interpreter's own teardown (thread joins, module finalizers) can take that
    # long. Every write is committed before its RPC returns, so once the server has stopped
    # there is nothing left to finish: flush the logs and leave at once.
    server.stop(grace=2).wait()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _plugin_logging(args: argparse.Namespace) -> logging.Logger:
    invocation_id = getattr(args, "invocation_id", None) or ""
    formatter = (
        JsonFormatter(invocation_id) if args.log_format == "json" else TextFormatter(invocation_id)
    )
    root = logging.getLogger("syncline")
    root.handlers.clear()
    # Log lines go to stdout, as plugins built on CloudQuery's Go SDK write them: that is
    # the stream CloudQuery's CLI reads, relays into its log and counts errors from.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    file_name = getattr(args, "log_file_name", None)
    if file_name and not getattr(args, "no_log_file", False):
        mode = "w" if getattr(args, "log_file_overwrite", False) else "a"
        file_handler = logging.FileHandler(file_name, mode=mode, encoding="utf-8")
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
    root.setLevel(getattr(logging, python_level(args.log_level).upper()))
    root.propagate = False
    return root


EXECUTABLE_PREFIX = "syncline-plugin-"


def executables(*, built_in: bool = False) -> dict[str, tuple[PluginKind, str]]:
    """The executable of every registered plugin (with ``built_in``, of syncline's own):
    ``syncline-plugin-<name>`` serves ``<owner>/<name>``. Where a name is both a destination
    and a source (postgresql), the destination keeps the name and the source's is
    ``syncline-plugin-<name>-source``."""
    from syncline.plugin.registry import available

    every: list[PluginKind] = ["destination", "source", "transformer"]
    out: dict[str, tuple[PluginKind, str]] = {}
    for kind in every:
        for path in available(kind, built_in=built_in):
            name = EXECUTABLE_PREFIX + path.rsplit("/", 1)[-1]
            out.setdefault(name if name not in out else f"{name}-{kind}", (kind, path))
    return out


def plugin_executable(argv: Sequence[str] | None = None) -> int:
    """Every ``syncline-plugin-*`` executable: serve the plugin its file name names."""
    exe = Path(sys.argv[0]).name
    # syncline's own executables are found in its own metadata, without reading every
    # installed distribution's (tens of milliseconds at the start of each plugin process).
    found = executables(built_in=True).get(exe) or executables().get(exe)
    if found is None:
        known = ", ".join(sorted(executables()))
        print(
            f"{exe}: no plugin is served under this name (known: {known}); "
            "use `syncline plugin serve <name>`",
            file=sys.stderr,
        )
        return 2
    kind, path = found
    parser = argparse.ArgumentParser(prog=f"{exe} ({path})")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_arguments(sub.add_parser("serve", help="serve the plugin over gRPC"))
    args, _unknown = parser.parse_known_args(argv)
    return serve(args, kind, path, lambda: find_any(path, kind))
