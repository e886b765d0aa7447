"""The BigQuery destination against the local-bigquery emulator (started by the test setup).

Rows are checked with the official client, as a user would query them.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from google.cloud import bigquery

from syncline.connectors.bigquery import BigQueryDestination, BigQuerySpec, writes
from syncline.plugin.contracts import PluginContext
from syncline.plugin.errors import MigrationError, WriteError
from syncline.schema.arrow import rows_to_record, to_arrow_schema
from syncline.schema.table import Column, Table
from syncline.testing import destination_suite as suite
from syncline.testing.destination_suite import CASES, Harness, Skip

# Append only: no upsert, delete-stale or delete-record. every_type_round_trips and
# names_that_need_quoting have BigQuery versions below (a NULL list is stored as an empty
# ARRAY; quotes and semicolons are not allowed in table names).
APPLICABLE = {
    "migrate_new_table",
    "add_column_safe",
    "refuse_breaking_change_safe",
    "forced_recreates",
    "append_adds_rows",
    "state_table_round_trip",
}
OWN_VERSION = {"every_type_round_trips", "names_that_need_quoting"}


def make(dataset: str, **spec: object) -> BigQueryDestination:
    return BigQueryDestination(
        BigQuerySpec(project_id="syncline-test", dataset_id=dataset, **spec),  # type: ignore[arg-type]
        PluginContext("bigquery"),
    )


@pytest.fixture
def client(bigquery_client):
    return bigquery_client


def rows_of(client: bigquery.Client, dataset: str, table: str, order: str) -> list[dict]:
    sql = f"SELECT * FROM `syncline-test.{dataset}.{table}` ORDER BY {order}"
    return [dict(r.items()) for r in client.query(sql).result()]


def load_jobs(client: bigquery.Client, dataset: str) -> list[str]:
    """The tables of the load jobs that wrote into ``dataset``."""
    return [
        j.destination.table_id
        for j in client.list_jobs()
        if j.job_type == "load" and j.destination.dataset_id == dataset
    ]


@pytest.fixture
def harness(bigquery_env):
    h = Harness(lambda: make(bigquery_env), upsert=False, delete=False)
    yield h
    h.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_bigquery_conformance(case, harness):
    if case.__name__ in OWN_VERSION:
        pytest.skip("BigQuery's version of this case is a test of its own in this file")
    try:
        case(harness)
    except Skip:
        assert case.__name__ not in APPLICABLE
        pytest.skip(f"{case.__name__} needs a capability BigQuery (append only) does not have")
    else:
        assert case.__name__ in APPLICABLE


def _types_table() -> tuple[Table, pa.RecordBatch, pa.RecordBatch]:
    from syncline.connectors.test_source.tables import some_table_batch

    sample = some_table_batch(3, 1, 6)
    t = Table(
        name=f"types_{uuid.uuid4().hex[:8]}",
        columns=tuple(Column(f.name, f.type) for f in sample.schema),
    )
    record = pa.RecordBatch.from_arrays(sample.columns, schema=to_arrow_schema(t))
    nulls = rows_to_record(to_arrow_schema(t), [{"client_id": 9, "id": 1}])
    return t, record, nulls


@pytest.mark.parametrize("path", ["insertAll", "load job"])
def test_every_type_round_trips_through_both_paths(bigquery_env, client, monkeypatch, path):
    if path == "load job":
        monkeypatch.setattr(writes, "LOAD_JOB_MIN_ROWS", 1)
    p = make(bigquery_env)
    t, record, nulls = _types_table()
    p.migrate_tables([t], False)
    p.write_batch(t, [p.prepare(t, record), p.prepare(t, nulls)])
    got = sorted(
        (r for b in p.read(t) for r in b.to_pylist()), key=lambda r: (r["client_id"], r["id"])
    )
    want = sorted(record.to_pylist() + nulls.to_pylist(), key=lambda r: (r["client_id"], r["id"]))
    # BigQuery has no NULL ARRAY: a null list is stored (and read back) as an empty one.
    want[-1]["list_col"] = []
    assert [suite._normal(r) for r in got] == [suite._normal(r) for r in want]
    assert len(load_jobs(client, bigquery_env)) == (1 if path == "load job" else 0)
    schema = {
        f.name: (f.field_type, f.mode)
        for f in client.get_table(f"syncline-test.{bigquery_env}.{t.name}").schema
    }
    assert schema["json_col"] == ("JSON", "NULLABLE")
    assert schema["uuid_col"] == ("STRING", "NULLABLE")
    assert schema["list_col"] == ("INTEGER", "REPEATED")
    assert schema["timestamp_col"] == ("TIMESTAMP", "NULLABLE")
    assert schema["binary_col"] == ("BYTES", "NULLABLE")
    assert schema["date_col"] == ("DATE", "NULLABLE")
    # a value as BigQuery's SQL sees it
    (row,) = client.query(
        f"SELECT JSON_VALUE(json_col, '$.client') AS c, uuid_col, ARRAY_LENGTH(list_col) AS n "
        f"FROM `syncline-test.{bigquery_env}.{t.name}` WHERE client_id = 3 AND id = 2"
    ).result()
    assert row["c"] == "3" and row["n"] == len(record.to_pylist()[1]["list_col"])
    assert row["uuid_col"] == str(uuid.UUID(bytes=record.to_pylist()[1]["uuid_col"]))


def test_names_bigquery_takes_and_names_it_refuses(bigquery_env, client):
    p = make(bigquery_env)
    t = Table(
        name="with-dash_Mixed",
        columns=(Column("select", pa.int64()), Column("Mixed_Case", pa.utf8())),
    )
    p.migrate_tables([t], False)
    p.write_batch(
        t, [p.prepare(t, rows_to_record(to_arrow_schema(t), [{"select": 1, "Mixed_Case": "A"}]))]
    )
    assert rows_of(client, bigquery_env, t.name, "`select`") == [{"select": 1, "Mixed_Case": "A"}]
    bad = replace(t, name='Odd "Table"; DROP TABLE x;--')
    with pytest.raises(
        MigrationError, match=r"'Odd \"Table\"; DROP TABLE x;--' is not a valid BigQuery table name"
    ):
        p.migrate_tables([bad], False)


def test_streaming_requests_stay_within_limits(bigquery_env, client, monkeypatch):
    # Small limits stand in for BigQuery's 50,000 rows and 10 MB per request.
    monkeypatch.setattr(writes, "MAX_REQUEST_ROWS", 3)
    sizes: list[int] = []
    original = bigquery.Client.insert_rows_json

    def counting(self, table, rows, **kw):
        sizes.append(len(rows))
        assert len(set(kw["row_ids"])) == len(rows)
        return original(self, table, rows, **kw)

    monkeypatch.setattr(bigquery.Client, "insert_rows_json", counting)
    p = make(bigquery_env)
    t = Table(name="limits", columns=(Column("id", pa.int64()), Column("text", pa.utf8())))
    p.migrate_tables([t], False)
    p.write_batch(
        t,
        [
            p.prepare(
                t,
                rows_to_record(
                    to_arrow_schema(t), [{"id": i, "text": "x" * 100} for i in range(10)]
                ),
            )
        ],
    )
    assert sizes == [3, 3, 3, 1]
    assert [r["id"] for r in rows_of(client, bigquery_env, "limits", "id")] == list(range(10))
    monkeypatch.setattr(writes, "MAX_REQUEST_ROWS", 50_000)
    monkeypatch.setattr(writes, "MAX_REQUEST_BYTES", 1000)  # 5 rows of 121 bytes + envelope
    sizes.clear()
    p.write_batch(
        t,
        [
            p.prepare(
                t,
                rows_to_record(
                    to_arrow_schema(t), [{"id": i, "text": "x" * 100} for i in range(20)]
                ),
            )
        ],
    )
    assert sizes == [5, 5, 5, 5]


def test_a_retried_request_is_not_stored_twice(bigquery_env, client, monkeypatch):
    """The client may send one insertAll request twice (a timeout); fixed insert ids keep
    BigQuery from storing it twice."""
    original = bigquery.Client.insert_rows_json

    def twice(self, table, rows, **kw):
        original(self, table, rows, **kw)
        return original(self, table, rows, **kw)

    monkeypatch.setattr(bigquery.Client, "insert_rows_json", twice)
    p = make(bigquery_env)
    t = Table(name="retried", columns=(Column("id", pa.int64()),))
    p.migrate_tables([t], False)
    batch = rows_to_record(to_arrow_schema(t), [{"id": 1}, {"id": 2}])
    p.write_batch(t, [p.prepare(t, batch)])
    p.write_batch(t, [p.prepare(t, batch)])  # a second write is new rows, not a retry
    assert [r["id"] for r in rows_of(client, bigquery_env, "retried", "id")] == [1, 1, 2, 2]


def test_a_rejected_row_fails_the_write_naming_table_and_column(bigquery_env, client):
    p = make(bigquery_env)
    t = Table(name="strict", columns=(Column("id", pa.int64()), Column("n", pa.int64())))
    p.migrate_tables([t], False)
    wrong = pa.RecordBatch.from_pydict({"id": [1, 2], "n": ["3", "not a number"]})
    with pytest.raises(WriteError) as e:
        p.write_batch(t, [wrong])
    text = str(e.value)
    assert "destination bigquery: table strict:" in text and "(row 1)" in text
    assert "(column n)" in text


def test_breaking_change_names_table_and_column_and_forced_recreates(bigquery_env, client):
    p = make(bigquery_env)
    t = Table(name="evolve", columns=(Column("id", pa.int64()), Column("v", pa.utf8())))
    p.migrate_tables([t], False)
    changed = replace(t, columns=(Column("id", pa.int64()), Column("v", pa.int64())))
    with pytest.raises(MigrationError) as e:
        p.migrate_tables([changed], False)
    assert 'table "evolve": change column "v" (type STRING -> INTEGER)' in str(e.value)
    p.migrate_tables([changed], True)
    field = client.get_table(f"syncline-test.{bigquery_env}.evolve").schema[1]
    assert (field.name, field.field_type) == ("v", "INTEGER")


def test_time_partitioning_by_sync_time(bigquery_env, client):
    p = make(bigquery_env, time_partitioning="day")
    t = Table(
        name="parted",
        columns=(Column("_cq_sync_time", pa.timestamp("us", tz="UTC")), Column("id", pa.int64())),
    )
    p.migrate_tables([t], False)
    got = client.get_table(f"syncline-test.{bigquery_env}.parted").time_partitioning
    assert (got.type_, got.field) == ("DAY", "_cq_sync_time")


def test_sync_time_survives_the_round_trip(bigquery_env, client):
    p = make(bigquery_env)
    t = Table(name="times", columns=(Column("at", pa.timestamp("us", tz="UTC")),))
    p.migrate_tables([t], False)
    when = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    p.write_batch(t, [p.prepare(t, rows_to_record(to_arrow_schema(t), [{"at": when}]))])
    assert rows_of(client, bigquery_env, "times", "at") == [{"at": when}]


def test_a_load_job_refused_for_quota_streams_the_batch(bigquery_env, client, monkeypatch, caplog):
    """The emulator has no quotas: BigQuery's answer to one job too many is given here."""
    from google.api_core.exceptions import Forbidden

    def refuse(self, *args, **kwargs):
        raise Forbidden(
            "Quota exceeded: too many table update operations",
            errors=[{"reason": "quotaExceeded", "message": "Quota exceeded"}],
        )

    monkeypatch.setattr(writes, "LOAD_JOB_MIN_ROWS", 2)
    monkeypatch.setattr(bigquery.Client, "load_table_from_file", refuse)
    p = make(bigquery_env)
    t = Table(name="quota", columns=(Column("id", pa.int64()),))
    p.migrate_tables([t], False)
    p.write_batch(t, [p.prepare(t, rows_to_record(to_arrow_schema(t), [{"id": 1}, {"id": 2}]))])
    assert [r["id"] for r in rows_of(client, bigquery_env, "quota", "id")] == [1, 2]
    assert (
        "load job refused (403 quotaExceeded: Quota exceeded); streaming the batch" in caplog.text
    )


def test_a_failed_load_job_fails_the_write(bigquery_env, client, monkeypatch):
    monkeypatch.setattr(writes, "LOAD_JOB_MIN_ROWS", 1)
    p = make(bigquery_env)
    t = Table(name="badload", columns=(Column("id", pa.int64()),))
    p.migrate_tables([t], False)
    wrong = pa.RecordBatch.from_pydict({"id": ["not a number"]})
    with pytest.raises(WriteError, match="destination bigquery: table badload: load job"):
        p.write_batch(t, [wrong])
    assert rows_of(client, bigquery_env, "badload", "id") == []
