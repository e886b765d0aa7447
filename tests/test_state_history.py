"""Cursor history and rollback: earlier values with their times, and setting cursors back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import config
from state_targets import BACKENDS, Target, events_source, make_target

from syncline.connectors.sqlite import SQLiteDestination, SQLiteSpec
from syncline.plugin.contracts import PluginContext
from syncline.state.client import StateClient
from syncline.state.history import SLOTS


@pytest.fixture(params=[*BACKENDS, pytest.param("sqlite-append", id="sqlite-append")])
def target(request, workdir):
    kind = request.param.removesuffix("-append")
    t = make_target(kind, request, workdir)
    t.append = request.param.endswith("-append")
    return t


def doc(t: Target) -> str:
    return t.doc("write_mode: append" if getattr(t, "append", False) else "")


def test_history_lists_each_value_and_rollback_replays(write, run_cli, target):
    times = []
    for events in (100, 200, 300):
        write("a.yml", config(events_source(events), doc(target)))
        r = run_cli("sync", "a.yml")
        assert r.code == 0, r.err
        times.append(datetime.now(UTC))  # after this sync's commit, before the next one
    r = run_cli("state", "history", "a.yml", "--table", "test_incremental_table")
    assert r.code == 0, r.err
    lines = [line for line in r.out.splitlines() if "test_incremental_table/client_0" in line]
    assert [line.split("│")[2:4] for line in lines] == [
        [" 3       ", " 300   "],
        [" 2       ", " 200   "],
        [" 1       ", " 100   "],
    ]

    r = run_cli("state", "rollback", "a.yml", "--to", "1")
    assert r.code == 0, r.err
    assert "test_incremental_table/client_0 set back to 100" in r.out
    assert target.cursor() == "100"
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 200," in r.out  # replayed from 100
    assert target.cursor() == "300"

    r = run_cli("state", "rollback", "a.yml", "--to", times[1].isoformat())
    assert r.code == 0, r.err
    assert target.cursor() == "200"  # the value committed by the second sync
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 100," in r.out

    before = (times[0] - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = run_cli("state", "rollback", "a.yml", "--to", before)
    assert r.code == 0 and "(cleared: the next sync is full)" in r.out
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 300," in r.out
    if not getattr(target, "append", False):
        assert target.ids() == list(range(1, 301))  # every replay absorbed by primary keys


def test_rollback_to_an_unknown_version_or_a_bad_time(write, run_cli, target):
    write("a.yml", config(events_source(10), doc(target)))
    assert run_cli("sync", "a.yml").code == 0
    r = run_cli("state", "rollback", "a.yml", "--to", "42")
    assert r.code == 0
    assert "test_incremental_table/client_0 has no version 42 in its history; unchanged" in r.out
    assert target.cursor() == "10"
    r = run_cli("state", "rollback", "a.yml", "--to", "yesterday-ish")
    assert r.code == 1 and "--to yesterday-ish: expected a version number or a time" in r.err


def test_history_on_an_upserting_backend_is_bounded(tmp_path):
    def client() -> StateClient:
        spec = SQLiteSpec(connection_string=str(tmp_path / "state.sqlite"))
        c = StateClient(SQLiteDestination(spec, PluginContext("sqlite")), "cq_state")
        c.load()
        return c

    c = client()
    for i in range(1, SLOTS + 6):
        c.commit({"k": str(i)})
    c.close()
    again = client()
    versions = [v.version for v in again.history()]
    assert versions == list(range(SLOTS + 5, 5, -1))  # the newest SLOTS, newest first
    assert again.get("k") == str(SLOTS + 5)
    again.close()
