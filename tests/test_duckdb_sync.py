"""Whole syncs into a real DuckDB file, with DuckDB also serving as the state backend."""

from __future__ import annotations

import duckdb
from conftest import config, source_doc

DUCKDB = """\
kind: destination
spec:
  name: duck
  path: cloudquery/duckdb
  registry: cloudquery
  version: "v1.0.0"
  spec:
    connection_string: ./data.duckdb
"""


def _q(workdir, sql):
    with duckdb.connect(str(workdir / "data.duckdb")) as c:
        return c.sql(sql).fetchall()


def test_sync_delete_stale_and_incremental_into_duckdb(write, run_cli, workdir):
    src = source_doc(
        destinations=("duck",),
        tables='["test_some_table", "test_sub_table", "test_incremental_table"]',
        extra='backend_options:\n  table_name: cq_state\n  connection: "@@plugins.duck.connection"',
        spec="num_rows: 10\nnum_sub_rows: 2\nnum_events: 1000\nbatch_size: 100",
    )
    write("a.yml", config(src, DUCKDB))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert _q(workdir, "select count(*) from test_some_table") == [(10,)]
    assert _q(
        workdir,
        "select count(*) from test_sub_table s join test_some_table p on s._cq_parent_id = p._cq_id",
    ) == [(20,)]
    assert _q(workdir, "select value from cq_state") == [("1000",)]

    write(
        "a.yml",
        config(
            src.replace("num_rows: 10", "num_rows: 4").replace(
                "num_events: 1000", "num_events: 1500"
            ),
            DUCKDB,
        ),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 512," in r.out  # 4 + 8 + 500 new events
    assert _q(workdir, "select count(*), min(id), max(id) from test_some_table") == [(4, 1, 4)]
    assert _q(workdir, "select count(*) from test_sub_table") == [(8,)]
    assert _q(workdir, "select count(*), count(distinct id) from test_incremental_table") == [
        (1500, 1500)
    ]
    assert _q(
        workdir,
        "select typeof(uuid_col), typeof(json_col), typeof(list_col) from test_some_table limit 1",
    ) == [("UUID", "JSON", "BIGINT[]")]
