"""The source suite: every built-in source passes it (the test source here, AWS in
test_aws_source.py, PostgreSQL in test_postgresql_source.py), and it catches each kind of
broken stream."""

from __future__ import annotations

import pyarrow as pa
import pytest

from syncline.connectors.test_source import TestSource as Synthetic
from syncline.connectors.test_source import TestSourceSpec as SyntheticSpec
from syncline.connectors.test_source import tables as t
from syncline.messages import Checkpoint, Insert, MigrateTable, TableDone
from syncline.plugin.contracts import PluginContext, SyncOptions
from syncline.schema.table import Column, Table, flatten
from syncline.state.cursors import advance, inclusive_start, moved
from syncline.state.keys import belongs_to, cursor_key, keys_of, keys_of_tables, table_of
from syncline.testing.source_suite import (
    SourceSuiteError,
    check_source,
    check_stream,
    check_tables,
    cursor_order,
)


def test_the_test_source_passes_and_resumes_from_its_cursors():
    spec = SyntheticSpec(num_clients=2, num_rows=3, num_sub_rows=2, num_events=25, batch_size=10)
    first, second = check_source(Synthetic(spec, PluginContext("test")), SyncOptions(["*"]))
    assert first.rows == {t.SOME_TABLE: 6, t.SUB_TABLE: 12, t.INCREMENTAL_TABLE: 50}
    assert first.cursors == {
        "test_incremental_table/client_0": "25",
        "test_incremental_table/client_1": "25",
    }
    assert first.checkpoints == 6  # after each batch of 10, 10, 5 per client
    assert second.rows == {t.SOME_TABLE: 6, t.SUB_TABLE: 12}  # nothing new to read
    assert second.checkpoints == 0


TABLES = {x.name: x for x in flatten(t.TABLES)}
EVENTS = TABLES[t.INCREMENTAL_TABLE]


def events(client: int, start: int, stop: int) -> Insert:
    """The test source's Insert of events [start, stop) of one client, as its sync sends it."""
    spec = SyntheticSpec(num_clients=client + 1, num_events=stop - 1, batch_size=100)
    source = Synthetic(spec, PluginContext("test"))
    key = cursor_key(t.INCREMENTAL_TABLE, f"client_{client}")
    state = _State({key: str(start - 1)})
    return next(
        m
        for m in source.sync(SyncOptions([t.INCREMENTAL_TABLE]), state)
        if isinstance(m, Insert) and m.record.column("client_id")[0].as_py() == client
    )


class _State:
    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = values or {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)


def problems(*messages, before=None):
    stream = [MigrateTable(EVENTS), *messages, TableDone(EVENTS.name, ok=True)]
    return check_stream([EVENTS], stream, before or {})[1]


def test_a_stream_in_order_has_no_problem():
    assert problems(events(0, 1, 5), Checkpoint("test_incremental_table/client_0", "4")) == []


def test_a_checkpoint_before_its_rows_is_caught():
    found = problems(Checkpoint("test_incremental_table/client_0", "4"), events(0, 1, 5))
    assert found == [
        "checkpoint test_incremental_table/client_0: before any row of table test_incremental_table"
    ]


def test_a_cursor_going_back_is_caught_within_a_run_and_from_the_last_run():
    key = "test_incremental_table/client_0"
    found = problems(events(0, 1, 5), Checkpoint(key, "4"), Checkpoint(key, "3"))
    assert found == [f"checkpoint {key}: cursor went back from 4 to 3"]
    found = problems(events(0, 1, 5), Checkpoint(key, "4"), before={key: "9"})
    assert found == [f"checkpoint {key}: cursor went back from 9 to 4"]


def test_a_key_no_table_owns_and_a_record_off_schema_are_caught():
    bad = Insert(EVENTS.name, pa.record_batch({"id": pa.array([1])}))
    found = problems(bad, Checkpoint("elsewhere/client_0", "1"))
    assert found[0].startswith("table test_incremental_table: record schema id: int64 is not")
    assert found[1] == "checkpoint elsewhere/client_0: no selected incremental table owns the key"


def test_children_before_their_parents_are_caught():
    some, sub = TABLES[t.SOME_TABLE], TABLES[t.SUB_TABLE]
    found = check_stream([some, sub], [MigrateTable(sub), MigrateTable(some)], {})[1]
    assert found[0] == "table test_sub_table: MigrateTable before its parent test_some_table's"
    source = Synthetic(SyntheticSpec(num_rows=2, num_sub_rows=1), PluginContext("test"))
    stream = list(source.sync(SyncOptions([t.SOME_TABLE, t.SUB_TABLE]), _State()))
    parent_rows = next(m for m in stream if isinstance(m, Insert) and m.table_name == some.name)
    child_rows = next(m for m in stream if isinstance(m, Insert) and m.table_name == sub.name)
    swapped = [MigrateTable(some), MigrateTable(sub), child_rows, parent_rows]
    found = check_stream([some, sub], swapped, {})[1]
    assert found == [
        "table test_sub_table: 1 row(s) whose parent row was not sent before",
        "no TableDone for test_some_table, test_sub_table",
    ]


def test_invalid_tables_are_caught():
    col = Column("id", pa.int64())
    bad = [
        Table("a", (col, col)),
        Table("b", (col,), is_incremental=True),
        Table("c", (col,), relations=(Table("d", (col,), parent="x"),)),
    ]
    assert check_tables(bad) == [
        "table a: a column name repeats",
        "table b: incremental without an incremental key column",
        "table d: a relation of c names x",
    ]


def test_the_suite_fails_a_source_that_forgets_its_cursors_or_has_no_rows():
    class Forgetful(Synthetic):
        def sync(self, options, state):
            return super().sync(options, _State())

    spec = SyntheticSpec(num_rows=1, num_events=5, batch_size=2)
    with pytest.raises(SourceSuiteError) as e:
        check_source(Forgetful(spec, PluginContext("test")), SyncOptions(["*"]))
    key = "test_incremental_table/client_0"
    assert str(e.value) == f"run 2: checkpoint {key}: cursor went back from 5 to 2"
    spec = SyntheticSpec(num_rows=1, num_events=0)
    with pytest.raises(SourceSuiteError, match="run 1: no rows at all"):
        check_source(Synthetic(spec, PluginContext("test")), SyncOptions([t.INCREMENTAL_TABLE]))


def test_cursor_keys_and_helpers():
    assert cursor_key("t") == "t"
    assert cursor_key("aws_x", "123", "us-east-1") == "aws_x/123/us-east-1"
    assert belongs_to("t/client_0", "t") and belongs_to("t", "t") and belongs_to("t:x", "t")
    assert not belongs_to("tt/client_0", "t") and not belongs_to("t", "t/client_0")
    assert table_of("a.b/x", ["a", "a.b", "c"]) == "a.b"
    assert table_of("a/x", ["a", "a.b"]) == "a" and table_of("z", ["a"]) is None
    assert keys_of(["a", "a/1", "ab", "b/1"], "a") == ["a", "a/1"]
    keys = ["a/1", "a.b/1", "b"]
    assert keys_of_tables(keys, []) == keys
    assert keys_of_tables(keys, ["a"]) == ["a/1", "a.b/1"]  # without the table list: a guess
    assert keys_of_tables(keys, ["a"], known=["a", "a.b", "b"]) == ["a/1"]
    assert keys_of_tables(keys, ["a.b", "b"], known=["a"]) == ["a.b/1", "b"]
    assert advance(None, 3) == 3 and advance(5, 3) == 5 and advance(3, 5) == 5
    assert moved(None, 1) and moved(1, 2) and not moved(2, 2) and not moved(3, 2)
    assert inclusive_start(None, 5) is None and inclusive_start(10, 0) == 10
    assert inclusive_start(10, 4) == 6
    assert cursor_order("12") == 12 and cursor_order(
        '{"time": "2024-01-01T00:00:00+00:00"}'
    ) < cursor_order("2024-01-02T00:00:00+00:00")
