"""The cursor guard: a cursor is never trusted for a table that lost the rows it covers."""

from __future__ import annotations

import pytest
from conftest import config
from state_targets import BACKENDS, events_source, make_target


@pytest.fixture(params=BACKENDS)
def target(request, workdir):
    return make_target(request.param, request, workdir)


def test_forced_migration_of_an_incremental_table_resyncs_it_in_full(write, run_cli, target):
    write("a.yml", config(events_source(1000), target.doc("migrate_mode: forced")))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert target.cursor() == "1000"
    # A new primary key is a breaking change: migrate_mode forced drops and recreates the table.
    write(
        "a.yml",
        config(events_source(1010), target.doc("migrate_mode: forced\npk_mode: cq-id-only")),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 1010," in r.out  # not 10: the old cursor covered rows that are gone
    assert "Warnings: 1," in r.out
    assert target.ids() == list(range(1, 1011))
    assert target.cursor() == "1010"
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 0," in r.out  # the new cursor is trusted again


@pytest.mark.parametrize(
    "loss", ["delete from test_incremental_table", "drop table test_incremental_table"]
)
def test_an_emptied_or_missing_table_resets_its_cursor(write, run_cli, target, loss):
    write("a.yml", config(events_source(300), target.doc()))
    assert run_cli("sync", "a.yml").code == 0
    r = run_cli("state", "verify", "a.yml")
    assert r.code == 0, r.err
    assert "test_incremental_table/client_0 = 300: test_incremental_table on dest: ok" in r.out

    target.sql(loss)
    r = run_cli("state", "verify", "a.yml")
    assert r.code == 1
    assert (
        "test_incremental_table/client_0 = 300: test_incremental_table on dest: "
        "MISMATCH: table is missing or empty" in r.out
    )
    assert "1 cursor(s) do not match their destination tables" in r.err

    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 300," in r.out
    assert target.ids() == list(range(1, 301))
    assert run_cli("state", "verify", "a.yml").code == 0


def test_verify_reports_a_cursor_no_selected_table_owns(write, run_cli, target):
    write("a.yml", config(events_source(20), target.doc()))
    assert run_cli("sync", "a.yml").code == 0
    target.sql("insert into cq_state (key, value, version) values ('gone_table/x', '7', 1)")
    r = run_cli("state", "verify", "a.yml")
    assert r.code == 1
    assert "gone_table/x = 7: -: MISMATCH: no selected incremental table" in r.out
