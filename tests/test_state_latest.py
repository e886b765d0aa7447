"""An append-only state table gains a row per commit; the state client reads only each key's
latest row from SQL destinations, and history still holds every version."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa
from destinations import SqlDestination, dest  # noqa: F401 (fixture)

from syncline.plugin.contracts import DestinationPlugin, LatestReader
from syncline.schema.table import Table
from syncline.state.client import StateClient

KEYS = ["src/table_a", "src/table_b", "src/table_c"]
COMMITS = 30


class CountedReads:
    """A real destination whose reads count the rows they return."""

    def __init__(self, plugin: DestinationPlugin) -> None:
        self.plugin = plugin
        self.limits = plugin.limits
        self.rows_read = 0
        self.full_reads: list[str] = []

    def migrate_tables(self, tables, force):
        self.plugin.migrate_tables(tables, force)

    def prepare(self, table, record):
        return self.plugin.prepare(table, record)

    def write_batch(self, table, records):
        self.plugin.write_batch(table, records)

    def delete_stale(self, table, source_name, sync_time):
        return self.plugin.delete_stale(table, source_name, sync_time)

    def delete_record(self, table, where):
        self.plugin.delete_record(table, where)

    def read(self, table: Table) -> Iterator[pa.RecordBatch]:
        self.full_reads.append(table.name)
        return self._counted(self.plugin.read(table))

    def test_connection(self):
        self.plugin.test_connection()

    def close(self):
        self.plugin.close()

    def _counted(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            self.rows_read += batch.num_rows
            yield batch


class CountedLatestReads(CountedReads):
    def read_latest(
        self, table: Table, key_columns: Sequence[str], version_column: str
    ) -> Iterator[pa.RecordBatch]:
        assert isinstance(self.plugin, LatestReader)
        return self._counted(self.plugin.read_latest(table, key_columns, version_column))


def commit_many(target: SqlDestination) -> None:
    """``COMMITS`` commits to an append-only state table; table_c is cleared by the last."""
    client = StateClient(target.plugin(), "cq_state", upsert=False)
    client.load()
    for i in range(1, COMMITS + 1):
        values: dict[str, str | None] = {k: f"{k}@{i}" for k in KEYS}
        if i == COMMITS:
            values["src/table_c"] = None
        client.commit(values)
    client.close()


def test_sql_destinations_read_only_the_latest_row_per_key(dest):  # noqa: F811
    commit_many(dest)
    assert dest.value("select count(*) from cq_state") == COMMITS * len(KEYS)

    backend = CountedLatestReads(dest.plugin())
    client = StateClient(backend, "cq_state", upsert=False)
    client.load()
    assert backend.full_reads == []
    assert backend.rows_read == len(KEYS)  # one row per key, not one per commit
    assert client.items() == {
        "src/table_a": f"src/table_a@{COMMITS}",
        "src/table_b": f"src/table_b@{COMMITS}",
    }
    assert client.get("src/table_c") is None

    # The next commit continues from the latest versions, and history keeps them all.
    client.commit({"src/table_a": "next", "src/table_c": "back"})
    versions = client.history()
    client.close()
    assert [(v.version, v.value) for v in versions if v.key == "src/table_a"] == [
        (COMMITS + 1, "next"),
        *[(i, f"src/table_a@{i}") for i in range(COMMITS, 0, -1)],
    ]
    assert [(v.version, v.value) for v in versions if v.key == "src/table_c"][:2] == [
        (COMMITS + 1, "back"),
        (COMMITS, None),
    ]
    again = StateClient(dest.plugin(), "cq_state", upsert=False)
    again.load()
    assert again.items() == {
        "src/table_a": "next",
        "src/table_b": f"src/table_b@{COMMITS}",
        "src/table_c": "back",
    }
    again.close()


def test_without_read_latest_every_row_is_read_to_the_same_values(dest):  # noqa: F811
    commit_many(dest)
    backend = CountedReads(dest.plugin())
    client = StateClient(backend, "cq_state", upsert=False)
    client.load()
    assert backend.full_reads == ["cq_state"]
    assert backend.rows_read == COMMITS * len(KEYS)
    assert client.items() == {
        "src/table_a": f"src/table_a@{COMMITS}",
        "src/table_b": f"src/table_b@{COMMITS}",
    }
    client.close()


def test_read_latest_keeps_the_last_written_row_among_equal_versions(dest):  # noqa: F811
    plugin = dest.plugin()
    assert isinstance(plugin, LatestReader)
    table = StateClient(plugin, "cq_state", upsert=False).table
    plugin.migrate_tables([table], False)
    assert list(plugin.read_latest(table, ["key"], "version")) == []
    rows = [("a", "old", None), ("a", "new", None), ("b", "v2", 2), ("b", "v1", 1), ("a", "x", 0)]
    for key, value, version in rows:  # one write each, so the written order is this order
        record = pa.RecordBatch.from_pydict(
            {"key": [key], "value": [value], "version": pa.array([version], pa.uint64())}
        )
        plugin.write_batch(table, [plugin.prepare(table, record)])
    got = pa.Table.from_batches(plugin.read_latest(table, ["key"], "version")).to_pylist()
    # a: three rows at version 0 (null counts as 0), in the order written; b: version 2
    assert sorted(got, key=lambda r: r["key"]) == [
        {"key": "a", "value": "old", "version": None},
        {"key": "a", "value": "new", "version": None},
        {"key": "a", "value": "x", "version": 0},
        {"key": "b", "value": "v2", "version": 2},
    ]
    client = StateClient(plugin, "cq_state", upsert=False)
    client.load()
    assert client.items() == {"a": "x", "b": "v2"}  # the last written among equals
    client.close()


def test_read_latest_of_a_missing_table_is_empty(dest):  # noqa: F811
    plugin = dest.plugin()
    assert isinstance(plugin, LatestReader)
    table = StateClient(plugin, "never_created", upsert=False).table
    assert list(plugin.read_latest(table, ["key"], "version")) == []
    plugin.close()
