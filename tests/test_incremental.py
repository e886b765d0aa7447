"""Incremental tables with a state backend: cursors, resets, other backends, failures."""

from __future__ import annotations

import pytest
from conftest import config, query, scalar, source_doc, sqlite_doc, sqlite_value, wait_for

BACKEND = """\
backend_options:
  table_name: cq_state_test
  connection: "@@plugins.{dest}.connection"
"""


def incremental_source(
    events: int, dest: str = "sqlite", destinations=("sqlite",), extra_spec: str = ""
) -> str:
    return source_doc(
        tables='["test_incremental_table"]',
        destinations=destinations,
        extra=BACKEND.format(dest=dest),
        spec=f"num_events: {events}\nbatch_size: 100\n{extra_spec}",
    )


def test_second_sync_moves_only_new_events_and_reset_resyncs(write, run_cli, workdir):
    db = workdir / "db.sqlite"
    write("a.yml", config(incremental_source(1000), sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 1000," in r.out
    ((key, value, version),) = query(db, "select key, value, version from cq_state_test")
    assert (key, value) == ("test_incremental_table/client_0", "1000") and version >= 1

    write("a.yml", config(incremental_source(1500), sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 500," in r.out
    assert scalar(db, "select count(*) from test_incremental_table") == 1500
    assert scalar(db, "select value from cq_state_test") == "1500"
    # incremental rows from the first sync were not deleted as stale
    assert scalar(db, "select count(distinct _cq_sync_time) from test_incremental_table") == 2

    r = run_cli("state", "show", "a.yml")
    assert r.code == 0
    assert "test_incremental_table/client_0" in r.out and "1500" in r.out

    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 0," in r.out

    r = run_cli("state", "reset", "a.yml", "--table", "test_incremental_table")
    assert r.code == 0 and "cleared 1 cursor(s)" in r.out
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 1500," in r.out
    assert scalar(db, "select count(*) from test_incremental_table") == 1500


def test_reset_of_an_unknown_table_is_an_error(write, run_cli):
    write("a.yml", config(incremental_source(10), sqlite_doc()))
    assert run_cli("sync", "a.yml").code == 0
    r = run_cli("state", "reset", "a.yml", "--table", "nope")
    assert r.code == 1 and "source test has no table nope" in r.err


def test_without_backend_incremental_tables_resync_fully(write, run_cli, workdir):
    src = source_doc(tables='["test_incremental_table"]', spec="num_events: 50")
    write("a.yml", config(src, sqlite_doc()))
    assert run_cli("sync", "a.yml").code == 0
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 50," in r.out
    write("a.yml", config(src.replace("num_events: 50", "num_events: 20"), sqlite_doc()))
    assert run_cli("sync", "a.yml").code == 0
    # no backend: the table is treated like any other and stale rows are deleted
    assert scalar(workdir / "db.sqlite", "select count(*) from test_incremental_table") == 20


def test_state_in_another_destination_not_synced_to(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            incremental_source(300, dest="state"),
            sqlite_doc(),
            sqlite_doc(name="state", path="state.sqlite"),
        ),
    )
    assert run_cli("sync", "a.yml").code == 0
    assert scalar(workdir / "db.sqlite", "select count(*) from test_incremental_table") == 300
    assert (
        scalar(
            workdir / "db.sqlite", "select count(*) from sqlite_master where name = 'cq_state_test'"
        )
        == 0
    )
    assert scalar(workdir / "state.sqlite", "select value from cq_state_test") == "300"
    # the state destination received no data tables: only the state table and its history
    assert query(
        workdir / "state.sqlite", "select name from sqlite_master where type = 'table' order by 1"
    ) == [("cq_state_test",), ("cq_state_test_history",)]
    write(
        "a.yml",
        config(
            incremental_source(450, dest="state"),
            sqlite_doc(),
            sqlite_doc(name="state", path="state.sqlite"),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 150," in r.out


def test_append_only_backend_keeps_versions_and_the_highest_wins(write, run_cli, workdir):
    cfg = lambda n: config(  # noqa: E731
        incremental_source(n, dest="state"),
        sqlite_doc(spec="batch_size: 100"),
        sqlite_doc(name="state", path="state.sqlite", extra="write_mode: append"),
    )
    write("a.yml", cfg(250))
    assert run_cli("sync", "a.yml").code == 0
    state = workdir / "state.sqlite"
    rows = query(state, "select value, version from cq_state_test order by version")
    assert len(rows) >= 2  # a new row per committed change
    assert [v for _, v in rows] == sorted({v for _, v in rows})  # versions grow
    assert rows[-1][0] == "250"
    write("a.yml", cfg(400))
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 150," in r.out  # resumed from the highest version
    assert query(state, "select value from cq_state_test order by version desc limit 1") == [
        ("400",)
    ]
    assert scalar(state, "select count(*) from cq_state_test") > len(rows)
    r = run_cli("state", "reset", "a.yml")
    assert r.code == 0
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 400," in r.out


@pytest.mark.parametrize("same_file", [True, False])
def test_failed_destination_never_leaves_the_cursor_ahead(write, run_cli, workdir, same_file):
    db = workdir / "db.sqlite"
    state_db = db if same_file else workdir / "state.sqlite"
    docs = [sqlite_doc(spec="batch_size: 250")]
    if not same_file:
        docs.append(sqlite_doc(name="state", path="state.sqlite"))
    src = lambda n: incremental_source(n, dest="sqlite" if same_file else "state")  # noqa: E731
    write("a.yml", config(src(0), *docs))
    assert run_cli("sync", "a.yml").code == 0  # creates the tables
    # The database rejects event 2345 and later, as a full disk or a constraint would.
    query(
        db,
        "create trigger reject before insert on test_incremental_table when new.id >= 2345 "
        "begin select raise(abort, 'rejected by the database'); end",
    )
    write("a.yml", config(src(5000), *docs))
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "rejected by the database" in r.err
    committed = scalar(db, "select max(id) from test_incremental_table")
    cursor = int(scalar(state_db, "select value from cq_state_test"))
    assert committed == 2250  # every whole batch of 250 rows before the failing one
    assert 0 < cursor <= committed
    ids = [i for (i,) in query(db, "select id from test_incremental_table order by id")]
    assert ids == list(range(1, committed + 1))

    query(db, "drop trigger reject")
    r = run_cli("sync", "a.yml")
    assert r.code == 0
    ids = [i for (i,) in query(db, "select id from test_incremental_table order by id")]
    assert ids == list(range(1, 5001))
    assert scalar(state_db, "select value from cq_state_test") == "5000"


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        (
            "backend_options:\n  table_name: t\n",
            "(document 1, line 9): spec.backend_options.connection: backend_options must contain both connection and table_name",
        ),
        (
            'backend_options:\n  connection: "@@plugins.sqlite.connection"\n',
            "(document 1, line 9): spec.backend_options.table_name: backend_options must contain both",
        ),
        (
            'backend_options:\n  table_name: t\n  connection: "@@plugins.nowhere.connection"\n',
            "(document 1, line 11): spec.backend_options.connection: variable plugins.nowhere.connection not found: no destination named nowhere",
        ),
        (
            'backend_options:\n  table_name: t\n  connection: "@@plugins.sqlite.name"\n',
            "(document 1, line 11): spec.backend_options.connection: invalid plugin reference @@plugins.sqlite.name",
        ),
        (
            'backend_options:\n  table_name: t\n  connection: "x"\n  other: 1\n',
            "(document 1, line 12): spec.backend_options.other: unknown key",
        ),
    ],
)
def test_backend_option_errors(write, run_cli, backend, expected):
    write("a.yml", config(source_doc(extra=backend), sqlite_doc()))
    r = run_cli("validate-config", "a.yml")
    assert r.code == 1
    assert "a.yml " + expected in r.err


def test_state_backend_at_a_literal_grpc_address(write, run_cli, workdir):
    """backend_options.connection may be the address of any plugin serving protocol v3."""
    import subprocess
    import sys

    import grpc
    from cloudquery.plugin_v3 import plugin_pb2, plugin_pb2_grpc

    from syncline.testing.postgres import free_port

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncline",
            "plugin",
            "serve",
            "sqlite",
            "--address",
            f"127.0.0.1:{port}",
        ],
        cwd=workdir,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        plugin_pb2_grpc.PluginStub(channel).Init(
            plugin_pb2.Init.Request(spec=b'{"connection_string": "remote-state.sqlite"}')
        )
        channel.close()
        src = lambda n: source_doc(  # noqa: E731
            tables='["test_incremental_table"]',
            extra=f'backend_options:\n  table_name: cq_state\n  connection: "127.0.0.1:{port}"',
            spec=f"num_events: {n}\nbatch_size: 100",
        )
        write("a.yml", config(src(300), sqlite_doc()))
        r = run_cli("sync", "a.yml")
        assert r.code == 0, r.err
        assert scalar(workdir / "remote-state.sqlite", "select value from cq_state") == "300"
        write("a.yml", config(src(450), sqlite_doc()))
        r = run_cli("sync", "a.yml")
        assert r.code == 0 and "Resources: 150," in r.out
        r = run_cli("state", "show", "a.yml")
        assert "450" in r.out
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_second_concurrent_sync_of_the_same_state_fails_fast(write, run_cli, workdir):
    import subprocess
    import sys

    write(
        "a.yml", config(incremental_source(100_000, extra_spec="batch_delay_ms: 50"), sqlite_doc())
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "syncline", "--no-log-file", "sync", "a.yml"], cwd=workdir
    )
    try:
        # the lock is taken before the state is read, so a committed cursor means it is held
        assert wait_for(
            lambda: sqlite_value(workdir / "db.sqlite", "select count(*) from cq_state_test"),
            "the first sync's first cursor",
            proc=first,
        ), "the first sync ended before committing a cursor"
        r = run_cli("sync", "a.yml")
        assert r.code == 1
        assert "another sync of source test with state table cq_state_test is running" in r.err
    finally:
        first.terminate()
        first.wait(timeout=30)
    # once the first one is gone, the next sync runs
    write("a.yml", config(incremental_source(10), sqlite_doc()))
    assert run_cli("sync", "a.yml").code == 0
