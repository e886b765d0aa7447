"""The example configs of the incremental-tables page run as written (version placeholders
given a version, ${CONNECTION_STRING} set) against moto and a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import boto3
import psycopg
import pytest
from conftest import query

pytestmark = pytest.mark.pg
FIXTURES = Path(__file__).parent / "fixtures"


def _seed(name: str, workdir: Path) -> str:
    text = (FIXTURES / name).read_text()
    for placeholder in (
        "VERSION_SOURCE_AWS",
        "VERSION_DESTINATION_POSTGRESQL",
        "VERSION_DESTINATION_SQLITE",
    ):
        text = text.replace(placeholder, "v1.0.0")
    (workdir / name).write_text(text)
    return name


def _events(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as c:
        return c.execute(
            "select event_name, region from aws_cloudtrail_events order by event_time"
        ).fetchall()


def test_seed_with_state_in_postgresql(run_cli, workdir, aws_env, pg_url, monkeypatch):
    monkeypatch.setenv("CONNECTION_STRING", pg_url)
    boto3.client("s3").create_bucket(Bucket="seed-bucket")
    boto3.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")
    config = _seed("seed_aws_postgresql.yml", workdir)
    r = run_cli("sync", config)
    assert r.code == 0, r.err
    assert _events(pg_url) == [("PutResource", "us-east-1"), ("CreateVpc", "us-east-1")]
    with psycopg.connect(pg_url) as c:
        (value,) = c.execute("select value from cq_state_aws").fetchone()
    assert "time" in value
    boto3.client("ec2").create_vpc(CidrBlock="10.2.0.0/16")
    r = run_cli("sync", config)
    assert r.code == 0 and "Resources: 1," in r.out
    # overwrite-delete-stale with a backend: earlier incremental rows are kept
    assert [n for n, _ in _events(pg_url)] == ["PutResource", "CreateVpc", "CreateVpc"]


def test_seed_with_state_in_sqlite_and_postgresql_in_place_of_bigquery(
    run_cli, workdir, aws_env, pg_url, monkeypatch
):
    monkeypatch.setenv("CONNECTION_STRING", pg_url)
    boto3.client("iam").create_user(UserName="seed-user")
    config = _seed("seed_aws_sqlite_state.yml", workdir)
    r = run_cli("sync", config)
    assert r.code == 0, r.err
    assert _events(pg_url) == [("CreateUser", "us-east-1")]
    # state went to the SQLite destination, which received no data
    assert query(workdir / "db.sqlite", "select key from cq_state_aws") == [
        ("aws_cloudtrail_events/123456789012/us-east-1",)
    ]
    assert query(
        workdir / "db.sqlite",
        "select count(*) from sqlite_master where name = 'aws_cloudtrail_events'",
    ) == [(0,)]
    boto3.client("iam").create_user(UserName="seed-user-2")
    r = run_cli("sync", config)
    assert r.code == 0 and "Resources: 1," in r.out
    assert len(_events(pg_url)) == 2  # append mode, no duplicates
