"""Tables a sync creates in PostgreSQL take their batches by plain COPY while every key is new,
and go over to the staged upsert at the first batch whose keys are already there."""

from __future__ import annotations

import threading

import psycopg
import pyarrow as pa
import pytest
from conftest import wait_for

from syncline.connectors.postgresql import PostgreSQLDestination, PostgreSQLSpec
from syncline.plugin.contracts import PluginContext
from syncline.schema.table import Column, Table

pytestmark = pytest.mark.pg

TABLE = Table(
    "items",
    (
        Column("id", pa.int64(), primary_key=True, not_null=True),
        Column("value", pa.string()),
    ),
)

# Every temporary table created in the database, recorded in the transaction that creates it
# (an event trigger fires for temporary tables too): the staging tables of upserts.
RECORD_TEMP_TABLES = """
CREATE SCHEMA audit;
CREATE TABLE audit.temp_tables (n serial PRIMARY KEY, identity text NOT NULL);
CREATE FUNCTION audit.record() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit.temp_tables (identity)
  SELECT object_identity FROM pg_event_trigger_ddl_commands()
  WHERE command_tag = 'CREATE TABLE' AND schema_name LIKE 'pg_temp%';
END $$;
CREATE EVENT TRIGGER record_temp_tables ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION audit.record();
"""


def q(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def staged(url: str) -> int:
    return q(url, "SELECT count(*) FROM audit.temp_tables")[0][0]


def rows(url: str) -> list[tuple]:
    return q(url, "SELECT id, value FROM items ORDER BY id")


@pytest.fixture
def url(pg_url: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(RECORD_TEMP_TABLES)
    return pg_url


@pytest.fixture
def plugin(url: str):
    p = PostgreSQLDestination(PostgreSQLSpec(connection_string=url), PluginContext("postgresql"))
    p.migrate_tables([TABLE], False)  # creates the table: new to this sync
    yield p
    p.close()


def write(p: PostgreSQLDestination, ids: list[int], tag: str) -> None:
    record = pa.RecordBatch.from_pydict(
        {"id": pa.array(ids, pa.int64()), "value": [f"{tag}{i}" for i in ids]}
    )
    p.write_batch(TABLE, [p.prepare(TABLE, record)])


def test_a_new_table_takes_every_batch_of_new_keys_without_staging(url, plugin):
    write(plugin, [1, 2, 3], "a")
    write(plugin, [4, 5], "b")
    write(plugin, [6, 7, 8], "c")
    assert staged(url) == 0
    assert rows(url) == [(i, f"{'aaabbccc'[i - 1]}{i}") for i in range(1, 9)]

    write(plugin, [3, 9, 4], "d")  # keys of earlier batches: upserted, the later rows win
    assert staged(url) == 1
    assert rows(url) == [(i, f"{'aaddbcccd'[i - 1]}{i}") for i in range(1, 10)]

    write(plugin, [10], "e")  # from then on the table takes the upsert path
    assert staged(url) == 2
    assert q(url, "SELECT count(*), max(value) FILTER (WHERE id = 10) FROM items") == [(10, "e10")]


def test_duplicate_keys_within_a_batch_keep_the_last_row(url, plugin):
    write(plugin, [1, 2], "a")
    write(plugin, [3, 1, 3], "b")
    record = pa.RecordBatch.from_pydict({"id": pa.array([4, 4], pa.int64()), "value": ["x", "y"]})
    plugin.write_batch(TABLE, [plugin.prepare(TABLE, record)])
    assert rows(url) == [(1, "b1"), (2, "a2"), (3, "b3"), (4, "y")]


def test_keys_another_writer_committed_are_upserted(url, plugin):
    write(plugin, [1], "a")
    with psycopg.connect(url) as other:
        other.execute("INSERT INTO items VALUES (2, 'other'), (5, 'other')")
    write(plugin, [2, 3], "b")
    assert rows(url) == [(1, "a1"), (2, "b2"), (3, "b3"), (5, "other")]
    assert staged(url) == 1


def test_a_key_another_transaction_is_writing_waits_for_it_then_is_upserted(url, plugin):
    write(plugin, [1], "a")
    other = psycopg.connect(url)
    try:
        other.execute("INSERT INTO items VALUES (2, 'other')")  # not committed yet
        other_pid = other.execute("SELECT pg_backend_pid()").fetchone()[0]
        failure: list[BaseException] = []

        def run() -> None:
            try:
                write(plugin, [2, 3], "b")
            except BaseException as e:  # re-raised below, in the test's thread
                failure.append(e)

        writer = threading.Thread(target=run)
        writer.start()
        # The COPY meets key 2 of the open transaction and waits for it to end.
        wait_for(
            lambda: q(
                url,
                "SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'transactionid' "
                f"AND pid <> {other_pid}",
            ),
            "the write to wait for the other transaction",
        )
        other.commit()
        writer.join(timeout=120)
        assert not writer.is_alive()
        assert not failure, failure
    finally:
        other.close()
    assert rows(url) == [(1, "a1"), (2, "b2"), (3, "b3")]
    assert staged(url) == 1
