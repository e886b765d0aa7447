"""The API functions each CLI command is built on, called directly."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from conftest import config, query, source_doc, sqlite_doc

import syncline
from syncline.cli.main import main

BACKEND = 'backend_options:\n  table_name: cq_state\n  connection: "@@plugins.sqlite.connection"'


def _incremental(events: int) -> str:
    return source_doc(
        tables='["test_incremental_table"]',
        extra=BACKEND,
        spec=f"num_events: {events}\nbatch_size: 100",
    )


def test_a_loaded_config_serves_every_function_and_reports_are_written(workdir):
    cfg = syncline.load_config(config(_incremental(30), sqlite_doc()))
    result = syncline.sync(
        cfg, summary_location="out/summary.jsonl", tables_metrics_location="out/metrics.txt"
    )
    assert result.rows == 30 and result.ok
    (line,) = (workdir / "out" / "summary.jsonl").read_text().splitlines()
    summary = json.loads(line)
    assert summary["resources_per_table"] == {"test_incremental_table": 30}
    assert (summary["source_name"], summary["destination_name"]) == ("test", "sqlite")
    metrics = (workdir / "out" / "metrics.txt").read_text()
    assert "| test_incremental_table | test" in metrics and "| 30 " in metrics
    assert syncline.validate(cfg) == []
    with pytest.raises(syncline.SynclineError, match="not a loaded Config"):
        syncline.sync(cfg, executor="processes")


def test_state_history_rollback_and_verify(workdir):
    text = config(_incremental(30), sqlite_doc())
    syncline.sync(text)
    before_second = datetime.now(UTC)
    syncline.sync(config(_incremental(50), sqlite_doc()))

    (state,) = syncline.read_state(text)
    assert (state.source, state.table) == ("test", "cq_state")
    assert dict(state.cursors) == {"test_incremental_table/client_0": "50"}

    (history,) = syncline.state_history(text, tables=["test_incremental_table"])
    assert history.versions is not None
    assert [(v.version, v.value) for v in history.versions] == [(2, "50"), (1, "30")]

    (checks,) = syncline.verify_state(text)
    assert checks.mismatches == 0
    assert [(c.key, c.table, c.destination) for c in checks.checks] == [
        ("test_incremental_table/client_0", "test_incremental_table", "sqlite")
    ]

    (back,) = syncline.rollback_state(text, before_second)
    assert dict(back.changes) == {"test_incremental_table/client_0": "30"}
    assert syncline.show_state(text) == {"test": {"test_incremental_table/client_0": "30"}}
    (missing,) = syncline.rollback_state(text, 99)
    assert missing.unchanged == ("test_incremental_table/client_0",) and not missing.changes

    # a cursor whose table is gone no longer matches
    query(workdir / "db.sqlite", "delete from test_incremental_table")
    (checks,) = syncline.verify_state(text)
    assert [c.problem for c in checks.checks] == ["table is missing or empty"]


def test_sources_without_a_backend_are_reported_as_such(workdir):
    text = config(source_doc(tables='["test_incremental_table"]'), sqlite_doc())
    assert syncline.reset_state(text) == {"test": None}
    assert [(s.source, s.table, dict(s.cursors)) for s in syncline.read_state(text)] == [
        ("test", None, {})
    ]
    assert syncline.show_state(text) == {}
    with pytest.raises(syncline.SynclineError, match=r"^unknown source nope$"):
        syncline.reset_state(text, sources=["nope"])


def test_a_reset_checks_every_table_name_before_clearing_anything(workdir):
    text = config(_incremental(20), sqlite_doc())
    syncline.sync(text)
    with pytest.raises(syncline.SynclineError, match="source test has no table nope"):
        syncline.reset_state(text, tables=["test_incremental_table", "nope"])
    assert syncline.show_state(text) == {"test": {"test_incremental_table/client_0": "20"}}


def test_tables_selected_and_nested_and_connections(workdir):
    text = config(source_doc(tables='["test_some_table"]'), sqlite_doc())
    nested = syncline.tables(text, flat=False)["test"]
    assert [t.name for t in nested] == ["test_some_table", "test_incremental_table"]
    assert [r.name for r in nested[0].relations] == ["test_sub_table"]
    (selected,) = syncline.tables(text, selected=True, flat=False).values()
    assert [(t.name, t.relations) for t in selected] == [("test_some_table", ())]
    flat = syncline.tables(text)["test"]
    assert [t.name for t in flat] == ["test_some_table", "test_sub_table", "test_incremental_table"]

    results = syncline.check_connections(text)
    assert [(r.kind, r.name, r.path, r.ok) for r in results] == [
        ("source", "test", "cloudquery/test", True),
        ("destination", "sqlite", "cloudquery/sqlite", True),
    ]
    nothing_listens = """\
kind: destination
spec:
  name: pg
  path: cloudquery/postgresql
  spec:
    connection_string: postgresql://u:s3cr3t-pw@127.0.0.1:1/db
"""
    bad = config(source_doc(tables='["test_some_table"]', destinations=("pg",)), nothing_listens)
    (source, dest) = syncline.check_connections(bad)
    assert source.ok and not dest.ok
    assert dest.error is not None and "127.0.0.1" in dest.error
    assert "s3cr3t-pw" not in dest.error


def test_the_cli_runs_from_a_worker_thread(workdir, capsys):
    (workdir / "a.yml").write_text(config(source_doc(spec="num_rows: 5"), sqlite_doc()))
    codes: list[int] = []
    t = threading.Thread(target=lambda: codes.append(main(["--no-log-file", "sync", "a.yml"])))
    t.start()
    t.join()
    assert codes == [0]
    out = capsys.readouterr().out
    assert "Starting sync for: test -> [sqlite]" in out
    assert "Sync completed successfully. Resources: 155," in out
