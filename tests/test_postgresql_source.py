"""The PostgreSQL source: a real database synced into DuckDB, fully and incrementally."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import duckdb
import psycopg
import pytest
from conftest import config

pytestmark = pytest.mark.pg

SCHEMA = """
CREATE TABLE customers (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    email varchar(200),
    active boolean,
    score real,
    balance numeric(12, 2),
    born date,
    created_at timestamptz,
    seen_at timestamp,
    external_id uuid,
    profile jsonb,
    tags text[],
    lucky int[],
    photo bytea,
    notes text,
    small smallint,
    mid integer,
    ratio double precision
);
COMMENT ON COLUMN customers.email IS 'Where we write to';
CREATE TABLE orders (
    order_id integer PRIMARY KEY,
    customer_id bigint REFERENCES customers(id),
    amount numeric(10, 2),
    updated_at timestamptz NOT NULL
);
CREATE TABLE audit_log (message text);
"""


def source(url: str, tables: str = '["*"]', spec: str = "") -> str:
    return f"""\
kind: source
spec:
  name: pg
  path: cloudquery/postgresql
  tables: {tables}
  destinations: [duck]
  backend_options:
    table_name: cq_state
    connection: "@@plugins.duck.connection"
  spec:
    connection_string: "{url}"
{spec}"""


DUCK = """\
kind: destination
spec:
  name: duck
  path: cloudquery/duckdb
  spec:
    connection_string: ./out.duckdb
"""


def duck(workdir, sql):
    with duckdb.connect(str(workdir / "out.duckdb")) as c:
        return c.sql(sql).fetchall()


@pytest.fixture
def pg_data(pg_url):
    big = "x" * 1_000_000
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute(SCHEMA)
        c.execute(
            "INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', true, 1.5, 1234.56, "
            "'1815-12-10', '2024-01-02 03:04:05.123456+00', '2024-01-02 03:04:05', "
            '\'6f9619ff-8b86-d011-b42d-00c04fc964ff\', \'{"lang": "en", "n": [1, 2]}\', '
            "ARRAY['a', 'b'], ARRAY[7, 13], '\\xdeadbeef', %s, 3, 40000, 0.25)",
            (big,),
        )
        c.execute("INSERT INTO customers (id, name) VALUES (2, 'Null Nick')")
        for i in range(1, 101):
            c.execute(
                "INSERT INTO orders VALUES (%s, 1, %s, timestamptz '2024-01-01' + %s * interval '1 minute')",
                (i, decimal.Decimal(i) / 4, i),
            )
        c.execute("INSERT INTO audit_log VALUES ('hello')")
    return pg_url


def test_full_sync_of_all_common_types(write, run_cli, workdir, pg_data):
    write("a.yml", config(source(pg_data), DUCK))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 103," in r.out
    row = duck(
        workdir,
        "select id, name, email, active, score, balance, born, created_at, seen_at, external_id, "
        "profile, tags, lucky, photo, length(notes), small, mid, ratio from customers where id = 1",
    )[0]
    assert row[:7] == (
        1,
        "Ada",
        "ada@example.com",
        True,
        1.5,
        decimal.Decimal("1234.56"),
        dt.date(1815, 12, 10),
    )
    assert row[7].astimezone(dt.UTC) == dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
    assert row[8] == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert row[9] == uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")
    assert json.loads(row[10]) == {"lang": "en", "n": [1, 2]}
    assert row[11:] == (["a", "b"], [7, 13], b"\xde\xad\xbe\xef", 1_000_000, 3, 40000, 0.25)
    nulls = duck(
        workdir,
        "select * exclude (_cq_sync_time, _cq_source_name, _cq_id, _cq_parent_id, id, name) from customers where id = 2",
    )[0]
    assert all(v is None for v in nulls)
    assert duck(workdir, "select count(*) from audit_log") == [(1,)]
    # primary keys carried over
    pk = duck(
        workdir,
        "select constraint_column_names from duckdb_constraints() where table_name = 'orders' and constraint_type = 'PRIMARY KEY'",
    )
    assert pk == [(["order_id"],)]
    r = run_cli("tables", "a.yml")
    assert r.code == 0
    docs = json.loads((workdir / "cq-docs" / "pg" / "__tables.json").read_text())
    email = next(
        c for t in docs if t["name"] == "customers" for c in t["columns"] if c["name"] == "email"
    )
    # type names as CloudQuery's docs spell them (Go Arrow: utf8, int64, ...)
    assert email == {"name": "email", "type": "utf8", "description": "Where we write to"}


def test_incremental_by_cursor_column(write, run_cli, workdir, pg_data):
    spec = "    batch_size: 30\n    incremental:\n      orders: updated_at\n"
    write("a.yml", config(source(pg_data, '["orders"]', spec), DUCK))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert "Resources: 100," in r.out
    assert duck(workdir, "select value from cq_state where key = 'orders'")[0][0].startswith(
        "2024-01-01T01:40:00"
    )
    with psycopg.connect(pg_data, autocommit=True) as c:
        c.execute(
            "UPDATE orders SET amount = 999, updated_at = timestamptz '2024-02-01' WHERE order_id = 5"
        )
        c.execute("INSERT INTO orders VALUES (101, 2, 1, timestamptz '2024-02-02')")
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    # the boundary row (inclusive cursor), the updated row and the new row
    assert "Resources: 3," in r.out
    assert duck(workdir, "select count(*), max(order_id) from orders") == [(101, 101)]
    assert duck(workdir, "select amount from orders where order_id = 5") == [
        (decimal.Decimal("999.00"),)
    ]


def test_unknown_cursor_column_is_an_error(write, run_cli, pg_data):
    write(
        "a.yml",
        config(source(pg_data, '["orders"]', "    incremental:\n      orders: nope\n"), DUCK),
    )
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "incremental: no column nope in table public.orders" in r.err


def test_the_postgresql_source_passes_the_source_suite(pg_data):
    from syncline.connectors.postgresql_source import PostgreSQLSource, PostgreSQLSourceSpec
    from syncline.plugin.contracts import PluginContext, SyncOptions
    from syncline.testing.source_suite import check_source

    spec = PostgreSQLSourceSpec(
        connection_string=pg_data, incremental={"orders": "updated_at"}, batch_size=30
    )
    first, second = check_source(PostgreSQLSource(spec, PluginContext("pg")), SyncOptions(["*"]))
    assert first.rows == {"customers": 2, "orders": 100, "audit_log": 1}
    assert first.checkpoints >= 1 and list(first.cursors) == ["orders"]
    assert first.cursors["orders"].startswith("2024-01-01T01:40:00")
    # The boundary row is read again (inclusive cursor); the cursor stays where it was.
    assert second.rows == {"customers": 2, "orders": 1, "audit_log": 1}
    assert second.cursors == first.cursors
