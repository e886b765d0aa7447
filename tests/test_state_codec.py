"""One state codec for the destination and gRPC state clients: highest version wins,
versioned commits."""

from __future__ import annotations

import pyarrow as pa
import pytest
from conftest import query

from syncline.connectors.sqlite import SQLiteDestination, SQLiteSpec
from syncline.plugin.contracts import PluginContext
from syncline.state import codec
from syncline.state.client import StateClient
from syncline.state.codec import VersionedCursors, state_table


@pytest.fixture(autouse=True, params=["in Python", "in Arrow"])
def ranking(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case runs on both ways of ranking rows (few rows and many)."""
    monkeypatch.setattr(codec, "RANK_IN_PYTHON", 10_000 if request.param == "in Python" else 0)


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
    c.load([rows(("a", "old", 2), ("a", "new", 2), ("c", None, 4))])
    assert c.items() == {"a": "new"} and len(c) == 2  # c is cleared, its version kept
    again = c.changes({"c": "again"})
    assert again is not None and again.versions == {"c": 5}


def test_rows_without_a_version_column_count_as_version_zero():
    c = VersionedCursors()
    c.load([pa.record_batch({"key": ["a", "b"], "value": ["1", "2"]})])
    assert c.items() == {"a": "1", "b": "2"}
    commit = c.changes({"a": "9"})
    assert commit is not None and commit.versions == {"a": 1}


def test_a_commit_raises_each_changed_key_by_one_and_skips_unchanged_keys():
    c = VersionedCursors()
    c.load([rows(("a", "1", 4), ("b", "2", 1))])
    commit = c.changes({"a": "1", "b": "3", "new": "n", "gone": None})
    assert commit is not None
    assert commit.values == {"b": "3", "new": "n"}  # "gone" has no value to clear
    assert commit.versions == {"b": 2, "new": 1}
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


def test_many_versions_of_few_keys_load_as_one_value_per_key(tmp_path):
    """An append-only state table keeps a row per change (history stays queryable there);
    the load ranks them in Arrow and keeps one value per key."""
    path = tmp_path / "state.sqlite"
    c = StateClient(_sqlite(path), "cq_state", upsert=False)
    c.load()
    for i in range(1, 41):
        c.commit({"t/a": str(i), "t/b": str(i * 2)})
    c.commit({"t/b": None})
    c.close()
    assert query(path, "SELECT count(*) FROM cq_state") == [(81,)]
    again = StateClient(_sqlite(path), "cq_state", upsert=False)
    again.load()
    assert len(again.cursors) == 2 and again.items() == {"t/a": "40"}
    again.commit({"t/b": "x"})
    assert query(path, "SELECT version FROM cq_state WHERE key = 't/b' ORDER BY version DESC")[
        :2
    ] == [(42,), (41,)]
    again.close()
