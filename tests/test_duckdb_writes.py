"""The DuckDB destination's write path on a real DuckDB file: a batch is inserted without
deleting its keys when the table is new, and the key index sends a repeated key back to the
delete-and-insert path, the whole transaction written again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from syncline.connectors.duckdb import DuckDBDestination, DuckDBSpec
from syncline.plugin.contracts import PluginContext
from syncline.schema.arrow import rows_to_record, to_arrow_schema
from syncline.schema.internal import CQ_ID, CQ_SOURCE_NAME, CQ_SYNC_TIME, SYNC_TIME_TYPE
from syncline.schema.table import Column, Table
from syncline.schema.types import UUID


def _table(name: str) -> Table:
    return Table(
        name=name,
        columns=(
            Column(CQ_SYNC_TIME, SYNC_TIME_TYPE),
            Column(CQ_SOURCE_NAME, pa.utf8()),
            Column(CQ_ID, UUID, not_null=True),
            Column("id", pa.int64(), primary_key=True, not_null=True),
            Column("name", pa.utf8()),
        ),
    )


def _rows(dest: DuckDBDestination, table: Table, *rows: tuple[int | None, str]) -> pa.RecordBatch:
    record = rows_to_record(
        to_arrow_schema(table),
        [
            {
                CQ_SYNC_TIME: datetime(2024, 5, 1, tzinfo=UTC),
                CQ_SOURCE_NAME: "src",
                CQ_ID: uuid.uuid4(),
                "id": i,
                "name": name,
            }
            for i, name in rows
        ],
    )
    return dest.prepare(table, record)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "w.duckdb")


def _open(path: str, **spec: object) -> DuckDBDestination:
    return DuckDBDestination(DuckDBSpec(connection_string=path, **spec), PluginContext("duck"))


def _contents(dest: DuckDBDestination, table: Table) -> list[tuple[int, str]]:
    rows = [r for b in dest.read(table) for r in b.to_pylist()]
    return sorted((r["id"], r["name"]) for r in rows)


def test_a_new_table_takes_repeated_keys_of_later_batches_last_row_wins(path):
    dest = _open(path)
    t = _table("fresh")
    dest.migrate_tables([t], False)
    dest.write_batch(t, [_rows(dest, t, (1, "a"), (2, "b"))])
    dest.write_batch(t, [_rows(dest, t, (2, "b2"), (3, "c"))])  # key 2 again
    dest.write_batch(t, [_rows(dest, t, (3, "c2"), (4, "d"), (3, "c3"))])  # twice in one batch
    assert _contents(dest, t) == [(1, "a"), (2, "b2"), (3, "c3"), (4, "d")]
    dest.close()


def test_an_existing_table_keeps_the_last_of_keys_repeated_in_a_batch(path):
    t = _table("existing")
    first = _open(path)
    first.migrate_tables([t], False)
    first.write_batch(t, [_rows(first, t, (1, "a"), (2, "b"))])
    first.close()
    again = _open(path)  # the table exists already: keys are deleted before the insert
    again.migrate_tables([t], False)
    again.write_batch(t, [_rows(again, t, (2, "b2"), (5, "e"), (2, "b3"), (5, "e2"))])
    assert _contents(again, t) == [(1, "a"), (2, "b3"), (5, "e2")]
    again.close()


def test_a_repeated_key_in_one_table_rewrites_the_whole_transaction_once(path):
    dest = _open(path)
    a, b = _table("group_a"), _table("group_b")
    dest.migrate_tables([a, b], False)
    dest.write_batch(a, [_rows(dest, a, (1, "a"))])
    # b is new and clean, a repeats key 1: both are written once, in one transaction
    dest.write_tables(
        [(b, [_rows(dest, b, (1, "x"), (2, "y"))]), (a, [_rows(dest, a, (1, "a2"), (2, "b"))])]
    )
    assert _contents(dest, a) == [(1, "a2"), (2, "b")]
    assert _contents(dest, b) == [(1, "x"), (2, "y")]
    dest.close()


def test_a_batch_that_breaks_a_constraint_writes_nothing_and_says_why(path):
    dest = _open(path)
    a, b = _table("atomic_a"), _table("atomic_b")
    dest.migrate_tables([a, b], False)
    dest.write_batch(a, [_rows(dest, a, (1, "a"))])
    with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
        dest.write_tables(
            [(a, [_rows(dest, a, (2, "b"))]), (b, [_rows(dest, b, (1, "x"), (None, "no key"))])]
        )
    assert _contents(dest, a) == [(1, "a")]
    assert _contents(dest, b) == []
    dest.write_batch(b, [_rows(dest, b, (1, "x"))])  # the connection is usable afterwards
    assert _contents(dest, b) == [(1, "x")]
    dest.close()


def _memory_limit(dest: DuckDBDestination) -> str:
    return str(dest._db().execute("SELECT current_setting('memory_limit')").fetchone()[0])


def test_memory_limit_is_the_budget_plus_room_for_the_indexes(path):
    with duckdb.connect() as plain:
        duckdb_default = plain.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    dest = _open(path, memory_limit="300MB")
    t = _table("sized")
    dest.migrate_tables([t], False)
    dest.write_batch(t, [_rows(dest, t, (1, "a"))])
    value, unit = _memory_limit(dest).split()
    assert unit == "MiB"
    # 300 MB (286.1 MiB) + a 64 MiB margin + 2 MiB for the table written + its small index
    assert 352.1 <= float(value) < 352.1 + 10
    dest.close()
    default = _open(path)  # a 256 MB budget by default
    assert default.spec.memory_limit == "256MB"
    value, unit = _memory_limit(default).split()
    assert unit == "MiB"
    # 256 MB (244.1 MiB) + the 64 MiB margin + the small index of the table written before
    assert 308.1 <= float(value) < 308.1 + 10
    (reused,) = default._db().execute("SELECT current_setting('block_allocator_memory')").fetchone()
    assert reused == "244.1 MiB"  # blocks dropped and read again reuse the budget's memory
    default.close()
    unlimited = _open(path, memory_limit=None)  # null: DuckDB's own limit
    assert _memory_limit(unlimited) == duckdb_default
    unlimited.close()


def _cached_blocks(dest: DuckDBDestination) -> int:
    (cached,) = (
        dest._db()
        .execute("SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'BASE_TABLE'")
        .fetchone()
    )
    return int(cached)


@pytest.mark.slow
def test_many_small_tables_keep_only_the_budget_of_written_blocks(path):
    # Each small table takes a 256 KiB block for its rows and one for its key index: 400
    # tables write over 200 MB of blocks, which DuckDB would keep in memory without a limit.
    dest = _open(path, memory_limit="16MB")
    tables = [_table(f"t{i:03d}") for i in range(400)]
    dest.migrate_tables(tables, False)
    for start in range(0, len(tables), 20):  # groups of tables per transaction, as a sync does
        group = tables[start : start + 20]
        dest.write_tables(
            [(t, [_rows(dest, t, *[(k, f"{t.name}-{k}") for k in range(10)])]) for t in group]
        )
    dest.close()
    dest = _open(path, memory_limit="16MB")  # the second run: every key deleted and written again
    dest.migrate_tables(tables, False)
    for start in range(0, len(tables), 20):
        group = tables[start : start + 20]
        dest.write_tables(
            [(t, [_rows(dest, t, *[(k, f"again-{k}") for k in range(10)])]) for t in group]
        )
    (used_blocks, block_size) = (
        dest._db().execute("SELECT used_blocks, block_size FROM pragma_database_size()").fetchone()
    )
    assert used_blocks * block_size > 200 * 2**20
    value, unit = _memory_limit(dest).split()
    limit_mib = float(value) * {"MiB": 1, "GiB": 1024}[unit]
    assert limit_mib < 150  # the budget plus room for the indexes, far below the blocks written
    assert _cached_blocks(dest) < limit_mib * 2**20
    for t in (tables[0], tables[199], tables[-1]):
        assert _contents(dest, t) == [(k, f"again-{k}") for k in range(10)]
    counts = " UNION ALL ".join(f"SELECT count(*) AS n FROM {t.name}" for t in tables)
    (total,) = dest._db().execute(f"SELECT sum(n) FROM ({counts})").fetchone()
    assert total == 4000
    dest.close()


def test_key_indexes_may_outgrow_the_budget(path):
    # 2,000,000 keys need more index memory than the whole 8 MB budget; with the limit at
    # the budget alone DuckDB fails the commit and invalidates the database.
    dest = _open(path, memory_limit="8MB")
    t = Table(
        name="big",
        columns=(Column("id", pa.int64(), primary_key=True, not_null=True),),
    )
    dest.migrate_tables([t], False)
    for start in range(0, 2_000_000, 500_000):
        ids = pa.array(range(start, start + 500_000), pa.int64())
        dest.write_batch(t, [pa.record_batch([ids], names=["id"])])
    (count,) = dest._db().execute("SELECT count(*) FROM big").fetchone()
    assert count == 2_000_000
    dest.close()


def test_memory_limit_must_be_a_size():
    with pytest.raises(ValueError, match="memory_limit"):
        DuckDBSpec(connection_string="x.duckdb", memory_limit="1GB'; DROP TABLE t; --")
