"""The file destination as a state backend, in every format: cursors survive a read-back."""

from __future__ import annotations

import pytest
from conftest import config, query, source_doc, sqlite_doc


def files_doc(fmt: str) -> str:
    return f"""\
kind: destination
spec:
  name: files
  path: cloudquery/file
  write_mode: append
  spec:
    directory: ./state
    format: {fmt}
"""


def source(events: int) -> str:
    return source_doc(
        tables='["test_incremental_table"]',
        extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.files.connection"',
        spec=f"num_events: {events}\nbatch_size: 100",
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_second_sync_resumes_from_a_file_backend(write, run_cli, workdir, fmt):
    write("a.yml", config(source(250), sqlite_doc(), files_doc(fmt)))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 250," in r.out
    write("a.yml", config(source(400), sqlite_doc(), files_doc(fmt)))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 150," in r.out  # resumed at 250, read back from the files
    ids = [i for (i,) in query(workdir / "db.sqlite", "select id from test_incremental_table")]
    assert sorted(ids) == list(range(1, 401))
    r = run_cli("state", "show", "a.yml")
    assert r.code == 0, r.err
    assert "test_incremental_table/client_0" in r.out and "400" in r.out
    assert len(list((workdir / "state" / "cq_state").iterdir())) >= 2  # one file per commit
