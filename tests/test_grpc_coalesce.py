"""Single-row inserts from an external source reach the engine as record batches per table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from conftest import config, python_plugin_exe, query, sqlite_doc

from syncline.config.models import Registry
from syncline.grpc import coalesce
from syncline.grpc.client import ExternalSource, ExternalSpec
from syncline.grpc.coalesce import InsertCoalescer
from syncline.messages import Insert, MigrateTable
from syncline.plugin.contracts import PluginContext, SyncOptions

MANY_TABLES = Path(__file__).parent / "plugins" / "sdk_many_tables.py"


def _exe(folder: Path) -> str:
    return python_plugin_exe(folder, "sdk-many-tables", MANY_TABLES)


def test_sdk_rows_sent_one_per_message_arrive_as_one_batch_per_table(tmp_path, monkeypatch):
    # Rows wait for their table's batch to fill or the stream to end, not for a clock.
    monkeypatch.setattr(coalesce, "MAX_AGE_S", 3600.0)
    spec = ExternalSpec.model_validate({"num_tables": 30, "rows_per_table": 50})
    source = ExternalSource(Registry.LOCAL, _exe(tmp_path), spec, PluginContext("sdk"))
    inserts: dict[str, list[pa.RecordBatch]] = {}
    migrated = []
    try:
        for msg in source.sync(SyncOptions(tables=["*"]), None):
            if isinstance(msg, Insert):
                inserts.setdefault(msg.table_name, []).append(msg.record)
            elif isinstance(msg, MigrateTable):
                migrated.append(msg.table.name)
    finally:
        source.close()
    names = [f"sdk_t{i:04d}" for i in range(30)]
    assert sorted(migrated) == names and sorted(inserts) == names
    # 1,500 single-row messages, one batch per table
    assert {t: len(batches) for t, batches in inserts.items()} == {t: 1 for t in names}
    seven = pa.Table.from_batches(inserts["sdk_t0007"])
    assert seven.column("id").to_pylist() == list(range(1, 51))  # in the order sent
    assert seven.column("name").to_pylist()[:2] == ["7-1", "7-2"]
    assert seven.schema.metadata[b"cq:table_name"] == b"sdk_t0007"


def test_sync_of_an_sdk_source_of_100_tables(write, run_cli, workdir):
    write(
        "sdk.yml",
        config(
            f"""\
kind: source
spec:
  name: sdk
  path: {_exe(workdir)}
  registry: local
  tables: ["*"]
  destinations: [sqlite]
  spec: {{num_tables: 100, rows_per_table: 7}}
""",
            sqlite_doc(),
        ),
    )
    result = run_cli("sync", "sdk.yml")
    assert result.code == 0, result.err
    assert "Resources: 700," in result.out
    db = workdir / "db.sqlite"
    assert query(db, "select count(*), sum(id), max(name) from sdk_t0099") == [(7, 28, "99-7")]
    assert query(db, "select count(*) from sdk_t0000") == [(7,)]


def _record(table: str, ids: list[int]) -> pa.RecordBatch:
    schema = pa.schema([("id", pa.int64())], metadata={"cq:table_name": table})
    return pa.record_batch([pa.array(ids, pa.int64())], schema=schema)


def test_a_table_is_handed_on_at_its_row_limit_and_everything_at_the_total_limit():
    clock = [0.0]
    c = InsertCoalescer(table_rows=3, total_rows=5, clock=lambda: clock[0])
    out = []
    for i in range(1, 4):
        out += list(c.add("a", _record("a", [i])))
    assert [(m.table_name, m.record.column(0).to_pylist()) for m in out] == [("a", [1, 2, 3])]
    assert list(c.add("b", _record("b", [1, 2]))) == []
    assert list(c.add("c", _record("c", [1, 2]))) == []
    ready = list(c.add("a", _record("a", [4])))  # five rows buffered: all go
    assert sorted((m.table_name, m.record.column(0).to_pylist()) for m in ready) == [
        ("a", [4]),
        ("b", [1, 2]),
        ("c", [1, 2]),
    ]
    assert list(c.flush()) == []


def test_buffered_rows_go_once_the_oldest_waited_the_maximum_age():
    clock = [10.0]
    c = InsertCoalescer(max_age_s=1.0, clock=lambda: clock[0])
    assert list(c.add("a", _record("a", [1]))) == []
    clock[0] = 10.5
    assert list(c.add("b", _record("b", [1]))) == []
    clock[0] = 11.0
    ready = list(c.add("a", _record("a", [2])))
    assert [(m.table_name, m.record.column(0).to_pylist()) for m in ready] == [
        ("a", [1]),
        ("b", [1]),
    ]
    assert [m.record.column(0).to_pylist() for m in c.flush()] == [[2]]


def test_a_new_schema_hands_on_the_rows_of_the_old_one_first():
    c = InsertCoalescer()
    assert list(c.add("a", _record("a", [1]))) == []
    wider = pa.record_batch(
        [pa.array([2], pa.int64()), pa.array(["x"])],
        schema=pa.schema([("id", pa.int64()), ("s", pa.string())], {"cq:table_name": "a"}),
    )
    ready = list(c.add("a", wider))
    assert [m.record.num_columns for m in ready] == [1]
    assert [m.record.num_columns for m in c.flush()] == [2]
