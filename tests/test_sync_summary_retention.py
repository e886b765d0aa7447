"""``sync_summary_retention``: summary rows of a source older than the retention go after a
sync; newer rows and other sources' rows stay."""

from __future__ import annotations

import sqlite3

from conftest import config, query, source_doc, sqlite_doc


def summaries(db) -> list[tuple[str, str]]:
    return query(db, "select sync_id, _cq_source_name from cloudquery_sync_summaries order by 1")


def age_row(db, sync_id: str, years: int) -> None:
    """Move a row's sync time back by whole years (the stored text keeps its format)."""
    with sqlite3.connect(db) as conn:
        (when,) = conn.execute(
            "select _cq_sync_time from cloudquery_sync_summaries where sync_id = ?", (sync_id,)
        ).fetchone()
        older = f"{int(when[:4]) - years:04d}{when[4:]}"
        conn.execute(
            "update cloudquery_sync_summaries set _cq_sync_time = ? where sync_id = ?",
            (older, sync_id),
        )


def test_summary_rows_older_than_the_retention_are_deleted(write, run_cli, workdir):
    db = workdir / "db.sqlite"
    keep_all = sqlite_doc(extra="send_sync_summary: true")
    source = source_doc(tables='["test_some_table"]', spec="num_rows: 2")
    write("keep.yml", config(source, keep_all))
    for sync_id in ("old", "recent"):
        assert run_cli("sync", "keep.yml", "--invocation-id", sync_id).code == 0
    # A year-old row of another source: not this source's to delete.
    with sqlite3.connect(db) as conn:
        conn.execute(
            "insert into cloudquery_sync_summaries select * from cloudquery_sync_summaries "
            "where sync_id = 'old'"
        )
        conn.execute(
            "update cloudquery_sync_summaries set sync_id = 'other', _cq_source_name = 'other' "
            "where rowid = (select max(rowid) from cloudquery_sync_summaries)"
        )
    age_row(db, "old", 1)
    age_row(db, "other", 1)
    assert summaries(db) == [("old", "test"), ("other", "other"), ("recent", "test")]

    retained = sqlite_doc(extra="send_sync_summary: true\nsync_summary_retention: 720h")
    write("retain.yml", config(source, retained))
    assert run_cli("sync", "retain.yml", "--invocation-id", "new").code == 0
    assert summaries(db) == [("new", "test"), ("other", "other"), ("recent", "test")]


def test_a_bad_retention_is_a_config_error(write, run_cli):
    bad = sqlite_doc(extra="send_sync_summary: true\nsync_summary_retention: 30 days")
    write("bad.yml", config(source_doc(), bad))
    r = run_cli("sync", "bad.yml")
    assert r.code != 0
    assert "sync_summary_retention" in r.err + r.out


def test_retention_on_an_append_only_destination_is_refused_before_the_sync(
    write, run_cli, workdir
):
    files = """\
kind: destination
spec:
  name: files
  path: cloudquery/file
  write_mode: append
  send_sync_summary: true
  sync_summary_retention: 24h
  spec:
    directory: out
    format: parquet
"""
    write("files.yml", config(source_doc(destinations=("files",)), files))
    r = run_cli("sync", "files.yml")
    assert r.code == 1
    assert (
        "Error: files.yml (document 2, line 16): spec.sync_summary_retention: needs a "
        "destination that deletes rows, and cloudquery/file is append only"
    ) in r.err
    assert not list(workdir.rglob("*.parquet"))  # refused before anything was written
