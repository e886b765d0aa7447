"""The incremental-tables page's second example runs as written: AWS (moto) into BigQuery
(the emulator), append only, with the cursor in a local SQLite database.

Only the version placeholders are given a version; ${PROJECT_ID}, ${DATASET_ID} and
BIGQUERY_EMULATOR_HOST come from the environment.
"""

from __future__ import annotations

from pathlib import Path

import boto3
from conftest import query

FIXTURES = Path(__file__).parent / "fixtures"


def _seed(workdir: Path) -> str:
    text = (FIXTURES / "seed_aws_bigquery.yml").read_text()
    for placeholder in (
        "VERSION_SOURCE_AWS",
        "VERSION_DESTINATION_BIGQUERY",
        "VERSION_DESTINATION_SQLITE",
    ):
        text = text.replace(placeholder, "v1.0.0")
    (workdir / "seed.yml").write_text(text)
    return "seed.yml"


def test_seed_aws_to_bigquery_with_state_in_sqlite(
    run_cli, workdir, aws_env, bigquery_emulator, bigquery_client, bigquery_env, monkeypatch
):
    monkeypatch.setenv("PROJECT_ID", bigquery_emulator.project)
    monkeypatch.setenv("DATASET_ID", bigquery_env)
    client = bigquery_client
    table = f"`{bigquery_emulator.project}.{bigquery_env}.aws_cloudtrail_events`"

    def events() -> list[tuple[str, str, str]]:
        sql = f"SELECT event_name, region, account_id FROM {table} ORDER BY event_time"
        return [tuple(r.values()) for r in client.query(sql).result()]

    boto3.client("iam").create_user(UserName="seed-user")
    boto3.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")
    config = _seed(workdir)
    r = run_cli("sync", config)
    assert r.code == 0, r.err
    assert events() == [
        ("CreateUser", "us-east-1", "123456789012"),
        ("CreateVpc", "us-east-1", "123456789012"),
    ]
    # the cursor went to the SQLite destination, which received no data
    ((key, value),) = query(workdir / "db.sqlite", "select key, value from cq_state_aws")
    assert key == "aws_cloudtrail_events/123456789012/us-east-1" and "time" in value
    assert query(
        workdir / "db.sqlite",
        "select count(*) from sqlite_master where name = 'aws_cloudtrail_events'",
    ) == [(0,)]

    boto3.client("iam").create_user(UserName="seed-user-2")
    r = run_cli("sync", config)
    assert r.code == 0 and "Resources: 1," in r.out, r.out + r.err
    # append only: the second run added the one new event and repeated none
    assert [e[0] for e in events()] == ["CreateUser", "CreateVpc", "CreateUser"]
    (row,) = client.query(f"SELECT COUNT(DISTINCT event_id) AS n FROM {table}").result()
    assert row["n"] == 3
