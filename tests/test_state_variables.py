"""``state`` commands read only the state backend: unrelated ``${VAR}`` may be unset."""

from __future__ import annotations

from conftest import config, query, source_doc, sqlite_doc

import syncline

SOURCE = source_doc(
    tables='["test_incremental_table"]',
    destinations=("data",),
    extra="""\
backend_options:
  table_name: cq_state
  connection: "@@plugins.state.connection"
""",
    spec="num_events: ${EVENTS}\nbatch_size: 10",
)
DATA = sqlite_doc(name="data", path="${DATA_DB}")
STATE = sqlite_doc(name="state", path="${STATE_DB}")
VARIABLES = {"EVENTS": "30", "DATA_DB": "data.sqlite", "STATE_DB": "state.sqlite"}


def _synced(write, run_cli, monkeypatch):
    write("a.yml", config(SOURCE, DATA, STATE))
    for name, value in VARIABLES.items():
        monkeypatch.setenv(name, value)
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 30," in r.out
    monkeypatch.delenv("EVENTS")
    monkeypatch.delenv("DATA_DB")


def test_state_show_and_reset_need_only_the_backends_variables(
    write, run_cli, monkeypatch, workdir
):
    _synced(write, run_cli, monkeypatch)

    r = run_cli("state", "show", "a.yml")
    assert r.code == 0, r.err
    assert "source test: state table cq_state" in r.out
    assert "test_incremental_table/client_0" in r.out and "30" in r.out
    assert syncline.show_state("a.yml") == {"test": {"test_incremental_table/client_0": "30"}}
    # the data destination was never opened: nothing was created at its unexpanded path
    assert sorted(p.name for p in workdir.iterdir()) == ["a.yml", "data.sqlite", "state.sqlite"]

    r = run_cli("state", "history", "a.yml")
    assert r.code == 0, r.err
    assert "test_incremental_table/client_0" in r.out

    r = run_cli("state", "reset", "a.yml")
    assert r.code == 0, r.err
    assert "source test: cleared 1 cursor(s): test_incremental_table/client_0" in r.out
    assert query(workdir / "state.sqlite", "select key, value from cq_state") == [
        ("test_incremental_table/client_0", None)
    ]
    assert syncline.show_state("a.yml") == {"test": {}}


def test_state_commands_still_name_the_variables_they_need(write, run_cli, monkeypatch):
    _synced(write, run_cli, monkeypatch)

    # naming tables checks them against the source's tables: the source's settings matter
    r = run_cli("state", "reset", "a.yml", "--table", "test_incremental_table")
    assert r.code == 1
    assert "a.yml (document 1, line 13): spec.spec.num_events: env variable EVENTS not found" in (
        r.err
    )

    monkeypatch.delenv("STATE_DB")
    r = run_cli("state", "show", "a.yml")
    assert r.code == 1
    assert (
        "a.yml (document 3, line 32): spec.spec.connection_string: env variable STATE_DB not found"
        in r.err
    )
    assert "DATA_DB" not in r.err and "EVENTS" not in r.err

    # a sync needs every variable, as before
    monkeypatch.setenv("STATE_DB", "state.sqlite")
    r = run_cli("sync", "a.yml")
    assert r.code == 1 and "env variable EVENTS not found" in r.err
