"""Starting ``registry: local`` plugins: on a unix socket as CloudQuery does; a plugin that
cannot bind one (built on CloudQuery's Python SDK) is started again on loopback TCP, and the
same executable goes to TCP directly for the rest of the process."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc
from conftest import (
    local_events_config,
    plugin_exe,
    python_plugin_exe,
    query,
    run_subprocess,
    wait_for,
)

from syncline.grpc.process import PluginProcess
from syncline.grpc.transport import answers, bind, new_server, open_channel
from syncline.plugin.errors import PluginInitError

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


def script(folder: Path, name: str, body: str) -> str:
    """An executable shell script ``name`` in ``folder``."""
    exe = folder / name
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(0o755)
    return str(exe)


def test_plugins_started_while_grpc_is_in_use_all_run(tmp_path):
    """Plugin processes started while this process serves and calls gRPC each get to run
    their executable: gRPC's fork handlers once aborted a few in a hundred before that."""
    exe = script(tmp_path, "exits-3", "exit 3")
    server = new_server()
    address = bind(server, "tcp", "127.0.0.1:0")
    server.start()
    try:
        with open_channel(address) as channel:
            assert answers(channel, timeout_s=30)  # a live channel: gRPC's poller runs
            codes = []
            for _ in range(100):
                process = PluginProcess("source", "exits", exe)
                codes.append(process.proc.wait())
                process.stop()
    finally:
        server.stop(grace=0)
    assert codes == [3] * 100


def test_a_plugin_starts_with_the_signal_dispositions_of_a_plain_child(tmp_path):
    """Python ignores SIGPIPE and SIGXFSZ; a plugin gets them back as Popen gives them."""
    exe = script(tmp_path, "ignored", "grep SigIgn /proc/self/status >&2; exit 3")
    process = PluginProcess("source", "ignored", exe)
    try:
        assert process.proc.wait() == 3
    finally:
        process.stop()
    plain = subprocess.run([exe], capture_output=True, text=True)
    assert process.last_lines() == ": " + plain.stderr.strip()


def test_a_plugin_that_cannot_be_executed_says_why(tmp_path):
    missing = str(tmp_path / "no-such-plugin")
    with pytest.raises(PluginInitError) as e:
        process = PluginProcess("source", "gone", missing)
        try:
            process.wait_ready(timeout_s=60)
        finally:
            process.stop()
    assert str(e.value) == f"source plugin gone: cannot start {missing}: No such file or directory"


def counting_exe(folder: Path, name: str, log: Path) -> str:
    """The installed plugin executable behind a script that notes each start in ``log``."""
    return script(folder, name, f'echo {name} >> "{log}"\nexec "{plugin_exe(name)}" "$@"')


def test_the_command_starts_each_local_plugin_process_once(workdir):
    """``syncline sync`` starts the local plugins as soon as it has read the config, and the
    engine takes those processes rather than starting its own: one source process, and two of
    the destination (one writes the rows, one keeps the state)."""
    log = workdir / "starts.log"
    source = counting_exe(workdir, "syncline-plugin-test", log)
    destination = counting_exe(workdir, "syncline-plugin-sqlite", log)
    cfg = workdir / "local.yml"
    cfg.write_text(local_events_config(source, destination))
    r = run_subprocess(["sync", str(cfg)], workdir, timeout=300)

    assert r.returncode == 0, r.stderr
    assert query(workdir / "db.sqlite", "SELECT count(*) FROM test_incremental_table") == [(30,)]
    assert query(workdir / "db.sqlite", "SELECT value FROM cq_state") == [("30",)]
    assert sorted(log.read_text().split()) == [
        "syncline-plugin-sqlite",
        "syncline-plugin-sqlite",
        "syncline-plugin-test",
    ]


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _running(pid: int) -> bool:
    found = _state_and_parent(pid)
    return found is not None and found[0] != "Z"  # a zombie has exited


def _children(pid: int) -> list[int]:
    """Running (not zombie) children of ``pid``, each read from /proc once."""
    found = {int(p): _state_and_parent(int(p)) for p in os.listdir("/proc") if p.isdigit()}
    return [k for k, sp in found.items() if sp is not None and sp[0] != "Z" and sp[1] == pid]


def _duckdb_config(num_events: int, delay_ms: int) -> str:
    return f"""kind: source
spec:
  name: events
  path: {plugin_exe("syncline-plugin-test")}
  registry: local
  tables: ["test_incremental_table"]
  destinations: [duckdb]
  spec: {{num_events: {num_events}, batch_size: 100, batch_delay_ms: {delay_ms}}}
---
kind: destination
spec:
  name: duckdb
  path: {plugin_exe("syncline-plugin-duckdb")}
  registry: local
  spec: {{connection_string: db.duckdb}}
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux parent-death signal")
def test_the_plugins_of_a_killed_sync_stop_and_the_rerun_opens_the_database(workdir):
    """kill -9 of ``syncline sync`` leaves no plugin process serving. An orphaned DuckDB
    destination would keep the file's lock, and the re-run could not open the database."""
    (workdir / "slow.yml").write_text(_duckdb_config(1_000_000, 50))
    sync = subprocess.Popen(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "slow.yml"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    plugins: list[int] = []
    try:
        # Both plugins started, the destination's database open (and locked).
        def both_plugins() -> list[int] | None:
            kids = _children(sync.pid)
            return kids if len(kids) == 2 else None

        plugins = wait_for(both_plugins, "the source and destination plugin processes", proc=sync)
        wait_for(lambda: (workdir / "db.duckdb").exists(), "the database file", proc=sync)
        assert sync.poll() is None, "the sync ended before it could be killed"
        sync.kill()
        sync.wait()
        wait_for(
            lambda: not any(_running(p) for p in plugins),
            "the plugin processes of the killed sync to stop",
            timeout=60,
        )
    finally:
        if sync.poll() is None:
            sync.kill()
        for pid in plugins:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)

    (workdir / "quick.yml").write_text(_duckdb_config(300, 0))
    r = run_subprocess(["sync", "quick.yml"], workdir, timeout=300)
    assert r.returncode == 0, r.stderr
    with duckdb.connect(str(workdir / "db.duckdb"), read_only=True) as db:
        counts = db.sql(
            "SELECT count(*), count(DISTINCT id) FROM test_incremental_table WHERE id <= 300"
        ).fetchall()
    assert counts == [(300, 300)]


def test_a_config_that_fails_its_check_leaves_no_plugin_running(workdir, run_cli):
    """The local plugins start from the documents before the config is checked; when the
    check fails, the sync ends with the check's error and stops the processes it started."""
    source, destination = plugin_exe("syncline-plugin-test"), plugin_exe("syncline-plugin-sqlite")
    cfg = workdir / "bad.yml"
    cfg.write_text(local_events_config(source, destination, source_rest="  no_such_key: 1\n"))
    before = set(_children(os.getpid()))

    r = run_cli("--log-level", "debug", "--log-console", "sync", str(cfg))

    assert r.code == 1
    assert "no_such_key" in r.err and "unknown key" in r.err
    # Started: each may be stopped before it runs its executable, so its log may be empty.
    started = re.findall(r"plugin process started kind=(\w+) plugin=(\w+) pid=\d+", r.err)
    assert sorted(started) == [("destination", "sqlite"), ("source", "events")]
    assert wait_for(lambda: not set(_children(os.getpid())) - before, "the plugins stopped")
