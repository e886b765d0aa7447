"""One state codec: highest version wins, versioned commits, one row per key on a backend that
appends but can delete, whatever the number of commits."""

from __future__ import annotations

import pyarrow as pa
import pytest
from conftest import query

from syncline.connectors.duckdb import DuckDBDestination, DuckDBSpec
from syncline.connectors.sqlite import SQLiteDestination, SQLiteSpec
from syncline.plugin.contracts import PluginContext
from syncline.state.client import StateClient
from syncline.state.codec import VersionedCursors, state_table


def rows(*triples: tuple[str, str | None, int | None]) -> pa.RecordBatch:
    keys, values, versions = zip(*triples, strict=True)
    return pa.RecordBatch.from_pydict(
        {"key": keys, "value": values, "version": pa.array(versions, pa.uint64())},
        schema=pa.schema([("key", pa.utf8()), ("value", pa.utf8()), ("version", pa.uint64())]),
    )


def test_highest_version_wins_and_ties_go_to_the_later_row():
    c = VersionedCursors()
    c.load([rows(("a", "3", 3), ("a", "1", 1), ("b", "x", None)), rows(("b", "y", 0))])
    assert c.items() == {"a": "3", "b": "y"}
    assert c.outranked == {"a": [1]}


def test_a_commit_raises_each_changed_key_by_one_and_skips_unchanged_keys():
    c = VersionedCursors()
    c.load([rows(("a", "1", 4), ("b", "2", 1))])
    commit = c.changes({"a": "1", "b": "3", "new": "n", "gone": None})
    assert commit is not None
    assert commit.values == {"b": "3", "new": "n"}  # "gone" has no value to clear
    assert commit.versions == {"b": 2, "new": 1}
    assert commit.superseded == {"b": 1}
    assert commit.record(state_table("s")).to_pylist() == [
        {"key": "b", "value": "3", "version": 2},
        {"key": "new", "value": "n", "version": 1},
    ]
    assert c.get("b") == "2"  # nothing is held before the rows are durable
    c.apply(commit)
    assert c.items() == {"a": "1", "b": "3", "new": "n"}
    cleared = c.changes({"a": None})
    assert cleared is not None and cleared.versions == {"a": 5}
    c.apply(cleared)
    assert c.get("a") is None and "a" not in c.items()
    assert c.changes({"a": None}) is None


def _sqlite(path):
    return SQLiteDestination(SQLiteSpec(connection_string=str(path)), PluginContext("sqlite"))


def _duckdb(path):
    return DuckDBDestination(DuckDBSpec(connection_string=str(path)), PluginContext("duckdb"))


def _count(kind: str, path, table: str) -> int:
    if kind == "sqlite":
        return int(query(path, f"SELECT count(*) FROM {table}")[0][0])
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        found = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert found is not None
    return int(found[0])


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_an_append_only_state_table_keeps_one_row_per_key_after_many_commits(tmp_path, kind):
    path = tmp_path / f"state.{kind}"
    make = _sqlite if kind == "sqlite" else _duckdb

    def client() -> StateClient:
        c = StateClient(make(path), "cq_state", upsert=False)
        c.load()
        return c

    c = client()
    for i in range(1, 41):
        c.commit({"t/a": str(i), "t/b": str(i * 2)})
    c.commit({"t/b": None})
    c.close()
    assert _count(kind, path, "cq_state") == 2
    # Every earlier value stays queryable in the history table.
    assert _count(kind, path, "cq_state_history") == 81
    again = client()
    assert len(again.cursors) == 2
    assert again.items() == {"t/a": "40"}
    versions = [v.version for v in again.history() if v.key == "t/b"]
    assert versions == list(range(41, 0, -1))
    again.close()


def test_rows_a_crash_left_behind_are_deleted_at_the_next_load(tmp_path):
    path = tmp_path / "state.sqlite"
    c = StateClient(_sqlite(path), "cq_state", upsert=False)
    c.load()
    c.commit({"k": "1"})
    # A commit that wrote its row but stopped before deleting the one it supersedes.
    c.backend.write_batch(c.table, [c.backend.prepare(c.table, rows(("k", "2", 2)))])
    c.close()
    assert _count("sqlite", path, "cq_state") == 2
    again = StateClient(_sqlite(path), "cq_state", upsert=False)
    again.load()
    assert again.items() == {"k": "2"}
    assert query(path, "SELECT key, value, version FROM cq_state") == [("k", "2", 2)]
    again.close()
