"""Late data: with ``table_options.<table>.lag`` an incremental sync starts that long before
its cursor, so a row that arrives after a sync with an older time is still picked up."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta

import boto3
import psycopg
import pytest
from conftest import config
from state_targets import BACKENDS, make_target


@pytest.fixture(params=BACKENDS)
def target(request, workdir):
    return make_target(request.param, request, workdir)


def aws_source(lag: str = "") -> str:
    options = (
        f"    table_options:\n      aws_cloudtrail_events:\n        lag: {lag}\n" if lag else ""
    )
    return f"""\
kind: source
spec:
  name: aws
  path: cloudquery/aws
  tables: ["aws_cloudtrail_events"]
  destinations: [dest]
  backend_options:
    table_name: cq_state
    connection: "@@plugins.dest.connection"
  spec:
    regions: ["us-east-1"]
{options}"""


def late_event(endpoint: str, name: str, when: datetime) -> str:
    body = json.dumps(
        {"EventName": name, "AwsRegion": "us-east-1", "EventTime": when.timestamp()}
    ).encode()
    req = urllib.request.Request(f"{endpoint}/moto-api/cloudtrail/late-event", data=body)
    with urllib.request.urlopen(req) as resp:
        return str(json.loads(resp.read())["EventId"])


@pytest.mark.parametrize("lag", ["", "10m"])
def test_a_late_cloudtrail_event(write, run_cli, target, aws_env, lag):
    s3 = boto3.client("s3")
    for i in range(3):
        s3.create_bucket(Bucket=f"late-{i}")
    write("a.yml", config(aws_source(lag), target.doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    first = target.value("select count(*) from aws_cloudtrail_events")
    assert first >= 3
    key = "aws_cloudtrail_events/123456789012/us-east-1"
    cursor = datetime.fromisoformat(json.loads(target.cursor(key))["time"])
    # Delivered now, but it happened a minute before the newest event already synced.
    late = late_event(aws_env, "LateCall", cursor - timedelta(minutes=1))
    s3.create_bucket(Bucket="late-after")

    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    got = {e for (e,) in target.sql("select event_id from aws_cloudtrail_events")}
    if not lag:
        assert late not in got  # the leak: older than the cursor, never read
        assert "Resources: 1," in r.out
        return
    assert late in got
    assert "Resources: 2," in r.out  # the late event and the new one; nothing seen repeats
    assert len(got) == first + 2
    r = run_cli("sync", "a.yml")
    assert r.code == 0 and "Resources: 0," in r.out


def test_a_late_cloudtrail_event_on_an_append_destination(write, run_cli, target, aws_env):
    boto3.client("s3").create_bucket(Bucket="late-append")
    write("a.yml", config(aws_source("10m"), target.doc("write_mode: append")))
    assert run_cli("sync", "a.yml").code == 0
    key = "aws_cloudtrail_events/123456789012/us-east-1"
    cursor = datetime.fromisoformat(json.loads(target.cursor(key))["time"])
    late = late_event(aws_env, "LateCall", cursor - timedelta(seconds=30))
    for _ in range(2):
        r = run_cli("sync", "a.yml")
        assert r.code == 0, r.err
    rows = target.sql("select event_id from aws_cloudtrail_events")
    assert (late,) in rows
    assert len(rows) == len(set(rows))  # appended, yet no event twice: the window is de-duplicated


def pg_source(url: str, lag: str = "") -> str:
    options = f"    table_options:\n      orders:\n        lag: {lag}\n" if lag else ""
    return f"""\
kind: source
spec:
  name: pg
  path: cloudquery/postgresql
  tables: ["orders"]
  destinations: [dest]
  backend_options:
    table_name: cq_state
    connection: "@@plugins.dest.connection"
  spec:
    connection_string: "{url}"
    batch_size: 2
    incremental:
      orders: updated_at
{options}"""


@pytest.mark.pg
@pytest.mark.parametrize("lag", ["", "10m"])
def test_a_row_committed_late_with_an_older_updated_at(write, run_cli, target, pg_server, lag):
    source_url = pg_server.create_database(f"late_source_{target.kind}_{lag or 'none'}")
    with psycopg.connect(source_url) as conn:
        conn.execute("create table orders (id int primary key, updated_at timestamptz not null)")
        conn.execute(
            "insert into orders select i, now() - interval '1 hour' + i * interval '1 second' "
            "from generate_series(1, 5) i"
        )
    write("a.yml", config(pg_source(source_url, lag), target.doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert target.ids("orders") == [1, 2, 3, 4, 5]
    # A long transaction commits row 6 after the sync, stamped before the newest row.
    with psycopg.connect(source_url) as conn:
        conn.execute(
            "insert into orders values (6, (select max(updated_at) from orders) - interval '2 s')"
        )
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    if not lag:
        assert target.ids("orders") == [1, 2, 3, 4, 5]  # the leak
        return
    assert target.ids("orders") == [1, 2, 3, 4, 5, 6]  # repeats absorbed by the primary key
    with psycopg.connect(source_url) as conn:
        newest = conn.execute("select max(updated_at) from orders").fetchone()[0]
    cursor = target.cursor("orders")
    assert cursor is not None and datetime.fromisoformat(cursor) == newest  # never moved back


def test_lag_needs_an_incremental_time_cursor(write, run_cli, target, aws_env):
    bad = aws_source("10m").replace(
        "aws_cloudtrail_events:\n        lag", "aws_s3_buckets:\n        lag"
    )
    write("a.yml", config(bad, target.doc()))
    r = run_cli("validate-config", "a.yml")
    assert r.code == 1
    assert "table_options.aws_s3_buckets.lag: aws_s3_buckets is not incremental" in r.err
