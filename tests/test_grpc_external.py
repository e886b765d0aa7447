"""syncline drives external plugins over protocol v3: a source built on CloudQuery's Python
SDK, syncline's own plugins served as processes, and plugins that fail."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from cloudquery.discovery_v1 import discovery_pb2, discovery_pb2_grpc
from conftest import config, plugin_exe, python_plugin_exe, query, scalar, source_doc, sqlite_doc

SDK_SOURCE = Path(__file__).parent / "plugins" / "sdk_source.py"


@pytest.fixture
def sdk_exe(workdir) -> str:
    return python_plugin_exe(workdir, "sdk-source", SDK_SOURCE)


def sdk_doc(exe: str, spec: str, backend: bool = True) -> str:
    text = f"""\
kind: source
spec:
  name: sdk
  path: {exe}
  registry: local
  tables: ["*"]
  destinations: [sqlite]
"""
    if backend:
        text += '  backend_options:\n    table_name: cq_state\n    connection: "@@plugins.sqlite.connection"\n'
    return text + f"  spec: {{{spec}}}\n"


def test_sdk_source_with_relation_and_incremental_table(write, run_cli, workdir, sdk_exe):
    write("a.yml", config(sdk_doc(sdk_exe, "num_items: 3, num_events: 20"), sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    db = workdir / "db.sqlite"
    assert scalar(db, "select count(*) from sdk_items") == 3
    assert query(db, "select item_id, count(*) from sdk_item_details group by 1 order by 1") == [
        (1, 2),
        (2, 2),
        (3, 2),
    ]
    assert query(db, "select count(*), min(id), max(id) from sdk_events") == [(20, 1, 20)]
    assert query(db, "select key, value from cq_state") == [("sdk_events", "20")]

    write("a.yml", config(sdk_doc(sdk_exe, "num_items: 3, num_events: 35"), sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 24," in r.out  # 3 items + 6 details + events 21..35
    assert query(db, "select count(*), count(distinct id) from sdk_events") == [(35, 35)]
    assert scalar(db, "select value from cq_state") == "35"
    # incremental rows of the first run are not stale
    assert (
        scalar(
            db,
            "select count(*) from sdk_events where _cq_sync_time = (select min(_cq_sync_time) from sdk_events)",
        )
        == 20
    )


def test_plugin_crashing_mid_stream_fails_and_keeps_the_cursor_behind(
    write, run_cli, workdir, sdk_exe
):
    write(
        "a.yml",
        config(
            sdk_doc(sdk_exe, "num_items: 1, num_events: 40, fail_after_events: 22"),
            sqlite_doc(spec="batch_size: 5"),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "source sdk: sync failed" in r.err and "exited with code 3" in r.err
    db = workdir / "db.sqlite"
    cursor = (
        scalar(db, "select value from cq_state")
        if scalar(db, "select count(*) from cq_state")
        else "0"
    )
    present = [i for (i,) in query(db, "select id from sdk_events order by id")]
    assert int(cursor) <= len(present) and present[: int(cursor)] == list(range(1, int(cursor) + 1))
    assert int(cursor) < 40
    # a clean run afterwards fills the rest
    write(
        "a.yml",
        config(sdk_doc(sdk_exe, "num_items: 1, num_events: 40"), sqlite_doc(spec="batch_size: 5")),
    )
    assert run_cli("sync", "a.yml").code == 0
    assert query(db, "select count(distinct id), min(id), max(id) from sdk_events") == [(40, 1, 40)]


def test_plugin_that_will_not_start(write, run_cli, workdir):
    exe = workdir / "broken"
    exe.write_text("#!/bin/sh\necho 'cannot load configuration' >&2\nexit 1\n")
    exe.chmod(0o755)
    write("a.yml", config(sdk_doc(str(exe), "", backend=False), sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "source plugin sdk exited with code 1 before serving: cannot load configuration" in r.err
    write("b.yml", config(sdk_doc(str(workdir / "missing"), "", backend=False), sqlite_doc()))
    r = run_cli("sync", "b.yml")
    assert r.code == 1 and "is not an executable file" in r.err


class _OldDiscovery(discovery_pb2_grpc.DiscoveryServicer):
    def GetVersions(self, request, context):
        return discovery_pb2.GetVersions.Response(versions=[1, 2])


def test_plugin_speaking_another_protocol_version(write, run_cli, workdir):
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    discovery_pb2_grpc.add_DiscoveryServicer_to_server(_OldDiscovery(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        doc = (
            source_doc(destinations=("sqlite",))
            .replace("path: cloudquery/test", f"path: 127.0.0.1:{port}")
            .replace("registry: cloudquery", "registry: grpc")
        )
        write("a.yml", config(doc, sqlite_doc()))
        r = run_cli("sync", "a.yml")
    finally:
        server.stop(0)
    assert r.code == 1
    assert (
        "source plugin test speaks CloudQuery protocol versions [1, 2]; syncline needs version 3"
        in r.err
    )


def test_mixed_pipelines_in_one_sync(write, run_cli, workdir):
    test_exe, sqlite_exe = (
        plugin_exe("syncline-plugin-test"),
        plugin_exe("syncline-plugin-sqlite"),
    )
    assert test_exe and sqlite_exe

    def external(doc: str, path: str) -> str:
        return (
            doc.replace("path: cloudquery/test", f"path: {path}")
            .replace("path: cloudquery/sqlite", f"path: {path}")
            .replace("registry: cloudquery", "registry: local")
        )

    docs = [
        external(
            source_doc(
                name="ext_to_builtin",
                destinations=("builtin",),
                tables='["test_some_table"]',
                spec="num_rows: 3",
            ),
            test_exe,
        ),
        source_doc(
            name="builtin_to_ext",
            destinations=("ext",),
            tables='["test_some_table"]',
            spec="num_rows: 4",
        ),
        external(
            source_doc(
                name="ext_to_ext",
                destinations=("ext2",),
                tables='["test_some_table", "test_sub_table"]',
                spec="num_rows: 5\nnum_sub_rows: 2",
            ),
            test_exe,
        ),
        sqlite_doc(name="builtin", path=str(workdir / "a.sqlite")),
        external(sqlite_doc(name="ext", path=str(workdir / "b.sqlite")), sqlite_exe),
        external(sqlite_doc(name="ext2", path=str(workdir / "c.sqlite")), sqlite_exe),
    ]
    write("a.yml", config(*docs))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert query(
        workdir / "a.sqlite", "select _cq_source_name, count(*) from test_some_table group by 1"
    ) == [("ext_to_builtin", 3)]
    assert query(
        workdir / "b.sqlite", "select _cq_source_name, count(*) from test_some_table group by 1"
    ) == [("builtin_to_ext", 4)]
    assert (
        scalar(
            workdir / "c.sqlite",
            "select count(*) from test_sub_table s join test_some_table p on s._cq_parent_id = p._cq_id",
        )
        == 10
    )


def test_validate_config_checks_an_external_spec_against_its_schema(write, run_cli, workdir):
    test_exe = plugin_exe("syncline-plugin-test")
    doc = (
        source_doc(spec="num_rows: -5")
        .replace("path: cloudquery/test", f"path: {test_exe}")
        .replace("registry: cloudquery", "registry: local")
    )
    write("a.yml", config(doc, sqlite_doc()))
    r = run_cli("validate-config", "a.yml")
    assert r.code == 1
    assert (
        "a.yml (document 1, line 10): spec.spec.num_rows: -5 is less than the minimum of 0" in r.err
    )
    write("a.yml", config(doc.replace("num_rows: -5", "num_rows: 5"), sqlite_doc()))
    assert run_cli("validate-config", "a.yml").code == 0


def test_postgresql_executables_serve_the_right_kind(workdir):
    """postgresql is both a source and a destination; each executable serves its own."""
    import subprocess

    from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc

    from syncline.testing.postgres import free_port

    for exe, kind in (
        ("syncline-plugin-postgresql", "destination"),
        ("syncline-plugin-postgresql-source", "source"),
    ):
        port = free_port()
        proc = subprocess.Popen(
            [plugin_exe(exe), "serve", "--network", "tcp", "--address", f"127.0.0.1:{port}"],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(channel).result(timeout=30)
            stub = plugin_pb2_grpc.PluginStub(channel)
            schema = json.loads(stub.GetSpecSchema(plugin_pb2.GetSpecSchema.Request()).json_schema)
            # the source's spec has cursor columns; the destination's has write retries
            served = "source" if "incremental" in schema["properties"] else "destination"
            assert ("max_retries" in schema["properties"]) == (kind == "destination")
            assert served == kind
            channel.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_plugins_start_together_and_unused_ones_are_stopped(write, run_cli, workdir):
    # The source logs its pid, then becomes the real plugin; the destination cannot start.
    source = workdir / "source"
    source.write_text(
        f'#!/bin/sh\necho $$ > "{workdir}/source.pid"\n'
        f'exec "{plugin_exe("syncline-plugin-test")}" "$@"\n'
    )
    source.chmod(0o755)
    broken = workdir / "broken"
    # It fails once the source is up (or after 60 s, when nothing started the source).
    broken.write_text(
        f'#!/bin/sh\nfor i in $(seq 1200); do [ -s "{workdir}/source.pid" ] && break; '
        "sleep 0.05; done\necho 'no database here' >&2\nexit 3\n"
    )
    broken.chmod(0o755)
    doc = source_doc(destinations=("sqlite",)).replace("path: cloudquery/test", f"path: {source}")
    dest = sqlite_doc().replace("path: cloudquery/sqlite", f"path: {broken}")
    write(
        "a.yml",
        config(
            doc.replace("registry: cloudquery", "registry: local"),
            dest.replace("registry: cloudquery", "registry: local"),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "destination plugin sqlite exited with code 3 before serving: no database here" in r.err
    # The source was started alongside the destination, never used, and stopped.
    pid = int((workdir / "source.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_write_stream_joins_records_into_larger_batches():
    import pyarrow as pa

    from syncline.grpc.coalesce import larger_batches
    from syncline.grpc.destination import MESSAGE_BYTES

    records = [pa.record_batch({"id": pa.array(range(i * 100, i * 100 + 100))}) for i in range(5)]
    joined = list(larger_batches(records, MESSAGE_BYTES))
    assert [r.num_rows for r in joined] == [500]
    assert joined[0].column(0).to_pylist() == list(range(500))
    # Never above the message limit: 800 bytes of ids per record, at most two per message.
    split = list(larger_batches(records, 1700))
    assert [r.num_rows for r in split] == [200, 200, 100]
    assert [v for r in split for v in r.column(0).to_pylist()] == list(range(500))
