"""Starting ``registry: local`` plugins: on a unix socket as CloudQuery does; a plugin that
cannot bind one (built on CloudQuery's Python SDK) is started again on loopback TCP, and the
same executable goes to TCP directly for the rest of the process."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc
from conftest import plugin_exe, python_plugin_exe, query, run_subprocess

from syncline.grpc.process import PluginProcess
from syncline.grpc.transport import open_channel

MANY_TABLES = Path(__file__).parent / "plugins" / "sdk_many_tables.py"


def sdk_exe(folder: Path) -> str:
    return python_plugin_exe(folder, "sdk-many-tables", MANY_TABLES)


def network(process: PluginProcess) -> str:
    args = list(process.proc.args)  # type: ignore[arg-type]
    return str(args[args.index("--network") + 1])


def rows_served(process: PluginProcess) -> int:
    with open_channel(process.address) as channel:
        stub = plugin_pb2_grpc.PluginStub(channel)
        spec = json.dumps({"num_tables": 2, "rows_per_table": 3}).encode()
        stub.Init(plugin_pb2.Init.Request(spec=spec))
        responses = stub.Sync(plugin_pb2.Sync.Request(tables=["*"]))
        return sum(r.WhichOneof("message") == "insert" for r in responses)


def test_an_sdk_plugin_moves_to_tcp_once_per_executable(tmp_path, caplog):
    exe = sdk_exe(tmp_path)
    caplog.set_level(logging.WARNING, logger="syncline.plugin.sdk")
    first = PluginProcess("source", "sdk", exe)
    try:
        assert network(first) == "unix"
        first.wait_ready()
        assert network(first) == "tcp"
        assert first.address.startswith("127.0.0.1:")
        assert rows_served(first) == 6
    finally:
        first.stop()
    moved = [r.getMessage() for r in caplog.records if "could not serve on a unix" in r.message]
    assert moved == [
        f"source plugin sdk could not serve on a unix socket; started it on TCP {first.address}"
    ]

    # The same executable again: straight to TCP, no failed start and no warning.
    caplog.clear()
    second = PluginProcess("source", "sdk", exe)
    try:
        assert network(second) == "tcp"
        second.wait_ready()
        assert rows_served(second) == 6
    finally:
        second.stop()
    assert not [r for r in caplog.records if "unix" in r.getMessage()]


def test_a_plugin_that_serves_on_a_unix_socket_stays_on_it():
    process = PluginProcess("source", "test", plugin_exe("syncline-plugin-test"))
    try:
        process.wait_ready()
        assert network(process) == "unix"
        assert process.address == f"unix://{process.socket}"
        assert Path(process.socket).exists()
    finally:
        process.stop()
    assert not Path(process.socket).exists()


def counting_exe(folder: Path, name: str, log: Path) -> str:
    """The installed plugin executable behind a script that notes each start in ``log``."""
    exe = folder / name
    exe.write_text(f'#!/bin/sh\necho {name} >> "{log}"\nexec "{plugin_exe(name)}" "$@"\n')
    exe.chmod(0o755)
    return str(exe)


def test_the_command_starts_each_local_plugin_process_once(workdir):
    """``syncline sync`` starts the local plugins as soon as it has read the config, and the
    engine takes those processes rather than starting its own: one source process, and two of
    the destination (one writes the rows, one keeps the state)."""
    log = workdir / "starts.log"
    source = counting_exe(workdir, "syncline-plugin-test", log)
    destination = counting_exe(workdir, "syncline-plugin-sqlite", log)
    cfg = workdir / "local.yml"
    cfg.write_text(
        f"""kind: source
spec:
  name: events
  path: {source}
  registry: local
  tables: ["test_incremental_table"]
  destinations: [sqlite]
  backend_options: {{table_name: cq_state, connection: "@@plugins.sqlite.connection"}}
  spec: {{num_events: 30}}
---
kind: destination
spec:
  name: sqlite
  path: {destination}
  registry: local
  spec: {{connection_string: db.sqlite}}
"""
    )
    r = run_subprocess(["sync", str(cfg)], workdir, timeout=300)

    assert r.returncode == 0, r.stderr
    assert query(workdir / "db.sqlite", "SELECT count(*) FROM test_incremental_table") == [(30,)]
    assert query(workdir / "db.sqlite", "SELECT value FROM cq_state") == [("30",)]
    assert sorted(log.read_text().split()) == [
        "syncline-plugin-sqlite",
        "syncline-plugin-sqlite",
        "syncline-plugin-test",
    ]
