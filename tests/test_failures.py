"""Resolver errors are counted and the sync goes on; write errors fail the sync. On SQLite,
DuckDB and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from conftest import config, source_doc
from destinations import KINDS, SqlDestination, dest, make  # noqa: F401  (fixture)


def src(tables: str, spec: str) -> str:
    return source_doc(destinations=("dest",), tables=tables, spec=spec)


def test_resolver_error_is_counted_without_aborting(write, run_cli, workdir, dest: SqlDestination):  # noqa: F811
    spec = "num_rows: 5\nnum_events: 7\nerror_tables: [test_some_table]"
    write("a.yml", config(src('["test_some_table", "test_incremental_table"]', spec), dest.doc()))
    r = run_cli("sync", "a.yml", "--summary-location", "summary.jsonl")
    assert r.code == 0, r.err
    assert "Sync completed with errors, see logs for details. Resources: 12, Errors: 1" in r.out
    # rows yielded before the error are kept; the other table is complete
    assert dest.value("select count(*) from test_some_table") == 5
    assert dest.value("select count(*) from test_incremental_table") == 7
    summary = json.loads((workdir / "summary.jsonl").read_text().splitlines()[0])
    assert summary["errors_per_table"] == {"test_incremental_table": 0, "test_some_table": 1}
    assert summary["source_errors"] == 1 and summary["resources"] == 12


def test_table_with_errors_keeps_rows_of_earlier_syncs(write, run_cli, dest: SqlDestination):  # noqa: F811
    write("a.yml", config(src('["test_some_table"]', "num_rows: 10"), dest.doc()))
    assert run_cli("sync", "a.yml").code == 0
    spec = "num_rows: 4\nerror_tables: [test_some_table]"
    write("a.yml", config(src('["test_some_table"]', spec), dest.doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0
    # A failed table is not complete, so its older rows are not stale: nothing deleted.
    assert dest.value("select count(*) from test_some_table") == 10
    assert "keeping rows of earlier syncs" in r.err


# A real constraint in the database rejects rows with id > 12 (DuckDB can add neither a
# trigger nor a constraint to an existing table, so it sits this one out).
REJECT = {
    "sqlite": (
        "create trigger reject before update on test_some_table when new.id > 12 "
        "begin select raise(abort, 'id too large'); end",
        ["destination dest: insert failed", "id too large"],
    ),
    "postgresql": (
        "alter table test_some_table add constraint small_ids check (id <= 12) not valid",
        ["destination dest: table test_some_table:", 'violates check constraint "small_ids"'],
    ),
}


@pytest.mark.parametrize("kind", [k for k in KINDS if k.values[0] in REJECT])
def test_destination_write_error_fails_the_sync(write, run_cli, workdir, request, kind):
    target = make(kind, request, workdir)
    write(
        "a.yml",
        config(
            src('["test_some_table"]', "num_rows: 20\nbatch_size: 5"),
            target.doc(spec="batch_size: 5"),
        ),
    )
    assert run_cli("sync", "a.yml").code == 0
    statement, messages = REJECT[kind]
    target.sql(statement)
    r = run_cli("sync", "a.yml", "--summary-location", "s.jsonl")
    assert r.code == 1
    assert all(m in r.err for m in messages), r.err
    assert "Sync failed." in r.out
    # nothing was deleted as stale after a failed sync
    assert target.value("select count(*) from test_some_table") == 20
    summary = json.loads((workdir / "s.jsonl").read_text())
    assert summary["destination_errors"] == 1
