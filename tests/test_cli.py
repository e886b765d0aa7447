"""Commands other than a plain sync: tables, test-connection, summaries, shards, logs."""

from __future__ import annotations

import json

from conftest import config, query, run_subprocess, scalar, source_doc, sqlite_doc

RUN_ID = "0b7e3c52-9d41-4f6a-8c2e-5a1d7f9b3e60"


def test_tables_json_and_markdown(write, run_cli, workdir):
    write("a.yml", config(source_doc(), sqlite_doc()))
    r = run_cli("tables", "a.yml")
    assert r.code == 0
    tables = json.loads((workdir / "cq-docs" / "test" / "__tables.json").read_text())
    assert [t["name"] for t in tables] == ["test_some_table", "test_incremental_table"]
    some = tables[0]
    assert some["relations"][0]["name"] == "test_sub_table"
    cols = {c["name"]: c for c in some["columns"]}
    assert cols["id"]["is_primary_key"] and cols["uuid_col"]["type"] == "uuid"
    assert tables[1]["is_incremental"] is True
    r = run_cli("tables", "a.yml", "--format", "markdown", "--output-dir", "docs")
    assert r.code == 0
    md = (workdir / "docs" / "test" / "test_incremental_table.md").read_text()
    assert "| id (PK) (Incremental Key) | `int64` |" in md
    assert (
        "[test_sub_table](test_sub_table.md)"
        in (workdir / "docs" / "test" / "README.md").read_text()
    )
    assert not (workdir / "db.sqlite").exists()  # tables never connects


def test_test_connection(write, run_cli, workdir):
    write("a.yml", config(source_doc(), sqlite_doc()))
    r = run_cli("test-connection", "a.yml")
    assert r.code == 0 and r.out.count("Success") == 2
    write("b.yml", config(source_doc(), sqlite_doc(path="/proc/nope/db.sqlite")))
    r = run_cli("test-connection", "b.yml")
    assert r.code == 1
    assert "Failure" in r.out and "at least one test connection failed" in r.err


def test_summary_lines_and_sync_group_id(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            source_doc(
                destinations=("sqlite", "copy"), tables='["test_some_table"]', spec="num_rows: 3"
            ),
            sqlite_doc(extra='write_mode: append\nsync_group_id: "g-{{YEAR}}-{{SYNC_ID}}"'),
            sqlite_doc(name="copy", path="copy.sqlite"),
        ),
    )
    r = run_cli(
        "sync", "a.yml", "--summary-location", "out/summary.jsonl", "--invocation-id", RUN_ID
    )
    assert r.code == 0, r.err
    lines = [json.loads(x) for x in (workdir / "out" / "summary.jsonl").read_text().splitlines()]
    assert [s["destination_name"] for s in lines] == ["sqlite", "copy"]
    assert all(s["resources"] == 3 and s["sync_id"] == RUN_ID for s in lines)
    assert lines[0]["source_tables"] == ["test_some_table"]
    group = lines[0]["sync_group_id"]
    assert (
        group.startswith("g-20")
        and group.endswith("-" + RUN_ID)
        and "sync_group_id" not in lines[1]
    )
    assert (
        scalar(workdir / "db.sqlite", "select distinct _cq_sync_group_id from test_some_table")
        == group
    )
    assert scalar(workdir / "copy.sqlite", "select count(*) from test_some_table") == 3


def test_shards_split_the_work_and_keep_their_own_rows(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            source_doc(tables='["test_some_table"]', spec="num_rows: 2\nnum_clients: 4"),
            sqlite_doc(),
        ),
    )
    assert run_cli("sync", "a.yml", "--shard", "1/2").code == 0
    assert run_cli("sync", "a.yml", "--shard", "2/2").code == 0
    db = workdir / "db.sqlite"
    assert query(
        db, "select _cq_source_name, count(*) from test_some_table group by 1 order by 1"
    ) == [
        ("test_1_2", 4),
        ("test_2_2", 4),
    ]
    r = run_cli("sync", "a.yml", "--shard", "3/2")
    assert r.code == 1 and "num must not be greater than total" in r.err
    r = run_cli("sync", "a.yml", "--shard", "x")
    assert "invalid shard format: x. Valid format is num/total, e.g. 1/4" in r.err


def test_log_file_text_and_json(write, workdir):
    write("a.yml", config(source_doc(tables='["test_some_table"]'), sqlite_doc()))
    p = run_subprocess(["sync", "a.yml"], workdir)
    assert p.returncode == 0, p.stderr
    assert "Sync completed successfully. Resources: 1, Errors: 0, Warnings: 0" in p.stdout
    # the helper gives --no-log-file before the subcommand: no log file at all
    assert not list(workdir.glob("*.log"))
    # once more with a JSON log file
    import subprocess
    import sys

    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "syncline",
            "sync",
            "a.yml",
            "--log-format",
            "json",
            "--log-file-name",
            "s.log",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0
    records = [json.loads(line) for line in (workdir / "s.log").read_text().splitlines()]
    assert any(r["message"].startswith("Starting sync for: test") for r in records)
    assert all(r["invocation_id"] == records[0]["invocation_id"] for r in records)
    # not a terminal: progress is plain lines, no terminal control codes
    assert "\x1b[" not in p.stdout + p.stderr


def test_send_sync_summary_writes_a_row(write, run_cli, workdir):
    write(
        "a.yml",
        config(
            source_doc(tables='["test_some_table"]', spec="num_rows: 3"),
            sqlite_doc(extra="send_sync_summary: true"),
        ),
    )
    assert run_cli("sync", "a.yml", "--invocation-id", "s1").code == 0
    assert run_cli("sync", "a.yml", "--invocation-id", "s2").code == 0
    db = workdir / "db.sqlite"
    rows = query(
        db,
        "select sync_id, resources, source_name, destination_name, source_tables, "
        "resources_per_table, _cq_source_name from cloudquery_sync_summaries order by sync_id",
    )
    assert rows == [
        ("s1", 3, "test", "sqlite", '["test_some_table"]', '{"test_some_table": 3}', "test"),
        ("s2", 3, "test", "sqlite", '["test_some_table"]', '{"test_some_table": 3}', "test"),
    ]
    # the summary table is not subject to delete-stale: both rows stay
    assert scalar(db, "select count(*) from test_some_table") == 3
