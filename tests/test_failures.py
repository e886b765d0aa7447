"""Resolver errors are counted and the sync goes on; write errors fail the sync."""

from __future__ import annotations

import json

from conftest import config, query, scalar, source_doc, sqlite_doc


def test_resolver_error_is_counted_without_aborting(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            source_doc(
                tables='["test_some_table", "test_incremental_table"]',
                spec="num_rows: 5\nnum_events: 7\nerror_tables: [test_some_table]",
            ),
            sqlite_doc(),
        ),
    )
    r = run_cli("sync", "a.yml", "--summary-location", "summary.jsonl")
    assert r.code == 0, r.err
    assert "Sync completed with errors, see logs for details. Resources: 12, Errors: 1" in r.out
    db = workdir / "db.sqlite"
    # rows yielded before the error are kept; the other table is complete
    assert scalar(db, "select count(*) from test_some_table") == 5
    assert scalar(db, "select count(*) from test_incremental_table") == 7
    summary = json.loads((workdir / "summary.jsonl").read_text().splitlines()[0])
    assert summary["errors_per_table"] == {"test_incremental_table": 0, "test_some_table": 1}
    assert summary["source_errors"] == 1 and summary["resources"] == 12


def test_table_with_errors_keeps_rows_of_earlier_syncs(write, run_cli, workdir):
    write(
        "a.yml", config(source_doc(tables='["test_some_table"]', spec="num_rows: 10"), sqlite_doc())
    )
    assert run_cli("sync", "a.yml").code == 0
    write(
        "a.yml",
        config(
            source_doc(
                tables='["test_some_table"]', spec="num_rows: 4\nerror_tables: [test_some_table]"
            ),
            sqlite_doc(),
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 0
    # A failed table is not complete, so its older rows are not stale: nothing deleted.
    assert scalar(workdir / "db.sqlite", "select count(*) from test_some_table") == 10
    assert "keeping rows of earlier syncs" in r.err


def test_destination_write_error_fails_the_sync(write, run_cli, workdir):
    db = workdir / "db.sqlite"
    write(
        "a.yml",
        config(
            source_doc(tables='["test_some_table"]', spec="num_rows: 20\nbatch_size: 5"),
            sqlite_doc(spec="batch_size: 5"),
        ),
    )
    assert run_cli("sync", "a.yml").code == 0
    # A real constraint in the database rejects rows with id > 12.
    query(
        db,
        "create trigger reject before update on test_some_table when new.id > 12 "
        "begin select raise(abort, 'id too large'); end",
    )
    r = run_cli("sync", "a.yml", "--summary-location", "s.jsonl")
    assert r.code == 1
    assert "destination sqlite: insert failed" in r.err and "id too large" in r.err
    assert "Sync failed." in r.out
    # nothing was deleted as stale after a failed sync
    assert scalar(db, "select count(*) from test_some_table") == 20
    summary = json.loads((workdir / "s.jsonl").read_text())
    assert summary["destination_errors"] == 1
