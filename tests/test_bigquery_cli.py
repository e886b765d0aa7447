"""The BigQuery destination from the command line: syncs, config checks, test-connection
(against the local-bigquery emulator the test setup starts)."""

from __future__ import annotations

import re

from conftest import config, source_doc

from syncline.connectors.bigquery import BigQuerySpec, writes
from syncline.connectors.bigquery.client import endpoint_of


def test_emulator_host_and_endpoint(monkeypatch):
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", "127.0.0.1:9050")
    spec = BigQuerySpec(project_id="p", dataset_id="d")
    assert endpoint_of(spec) == "http://127.0.0.1:9050"
    assert (
        endpoint_of(replace_spec(spec, endpoint="https://bq.example:443/"))
        == "https://bq.example:443"
    )
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST")
    assert endpoint_of(spec) == ""


def replace_spec(spec: BigQuerySpec, **kw: object) -> BigQuerySpec:
    return spec.model_copy(update=kw)


def bigquery_doc(extra: str = "write_mode: append", spec: str = "") -> str:
    return f"""\
kind: destination
spec:
  name: bigquery
  path: cloudquery/bigquery
  registry: cloudquery
  version: "v1.0.0"
  {extra}
  spec:
    project_id: syncline-test
    dataset_id: ${{DATASET_ID}}
{spec}"""


def test_sync_into_bigquery_both_paths(write, run_cli, bigquery_env, bigquery_client, monkeypatch):
    monkeypatch.setenv("DATASET_ID", bigquery_env)
    write(
        "a.yml",
        config(
            source_doc(
                destinations=("bigquery",),
                tables='["test_some_table", "test_sub_table"]',
                extra="skip_dependent_tables: false",
                spec="num_rows: 120\nnum_sub_rows: 2",
            ),
            bigquery_doc(spec="    batch_size: 200000\n"),
        ),
    )
    monkeypatch.setattr(writes, "LOAD_JOB_MIN_ROWS", 200)  # the sub table's 240 rows load
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    (row,) = bigquery_client.query(
        f"SELECT COUNT(*) AS n, COUNT(DISTINCT _cq_id) AS ids, MIN(_cq_source_name) AS s "
        f"FROM `syncline-test.{bigquery_env}.test_some_table`"
    ).result()
    assert (row["n"], row["ids"], row["s"]) == (120, 120, "test")
    (row,) = bigquery_client.query(
        f"SELECT COUNT(*) AS n FROM `syncline-test.{bigquery_env}.test_sub_table` s "
        f"JOIN `syncline-test.{bigquery_env}.test_some_table` p ON s._cq_parent_id = p._cq_id"
    ).result()
    assert row["n"] == 240
    loads = [
        j.destination.table_id
        for j in bigquery_client.list_jobs()
        if j.job_type == "load" and j.destination.dataset_id == bigquery_env
    ]
    assert loads == ["test_sub_table"]
    r = run_cli("sync", "a.yml")  # append: a second sync adds every row again
    assert r.code == 0, r.err
    (row,) = bigquery_client.query(
        f"SELECT COUNT(*) AS n FROM `syncline-test.{bigquery_env}.test_some_table`"
    ).result()
    assert row["n"] == 240


def test_other_write_modes_are_refused_before_syncing(write, run_cli, bigquery_env, monkeypatch):
    monkeypatch.setenv("DATASET_ID", bigquery_env)
    write(
        "a.yml",
        config(source_doc(destinations=("bigquery",)), bigquery_doc("write_mode: overwrite")),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert (
        "spec.write_mode: write_mode overwrite is not supported by cloudquery/bigquery (supported: append)"
        in r.err
    )


def test_a_bad_key_is_refused_without_showing_it(write, run_cli, monkeypatch):
    monkeypatch.setenv("DATASET_ID", "d")
    write(
        "a.yml",
        config(
            source_doc(destinations=("bigquery",)),
            bigquery_doc(spec='    service_account_key_json: "{secret-text-42"\n'),
        ),
    )
    r = run_cli("validate-config", "a.yml")
    assert r.code == 1
    assert (
        "spec.spec.service_account_key_json" in r.err
        and "invalid JSON (the key's text is not shown)" in r.err
    )
    assert "secret-text-42" not in r.err + r.out


def test_connection_reaches_the_emulator(write, run_cli, bigquery_env, monkeypatch):
    monkeypatch.setenv("DATASET_ID", bigquery_env)
    write("a.yml", config(source_doc(destinations=("bigquery",)), bigquery_doc()))
    r = run_cli("test-connection", "a.yml")
    assert r.code == 0, r.err
    assert re.search(r"destination\s*│\s*bigquery\s*│\s*cloudquery/bigquery\s*│\s*Success", r.out)
