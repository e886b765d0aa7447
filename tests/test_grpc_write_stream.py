"""Inserts to an external destination go on one open Write stream; they count as durable
only once that stream has ended (the plugin answers after committing all of it)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pyarrow as pa
import pytest
from conftest import plugin_exe

from syncline.config.models import Registry
from syncline.grpc import destination as grpc_destination
from syncline.grpc.client import ExternalSpec
from syncline.grpc.destination import ExternalDestination
from syncline.plugin.contracts import PluginContext
from syncline.plugin.errors import WriteError
from syncline.schema.table import Column, Table
from syncline.writers.batch import BatchWriter

TABLE = Table("events", (Column("id", pa.int64(), primary_key=True), Column("v", pa.utf8())))


def _rows(start: int, n: int) -> pa.RecordBatch:
    ids = list(range(start, start + n))
    return pa.record_batch(
        {"id": pa.array(ids, pa.int64()), "v": pa.array([f"v{i}" for i in ids])},
        schema=pa.schema(
            [pa.field("id", pa.int64(), nullable=False), pa.field("v", pa.utf8())],
            metadata={b"cq:table_name": b"events"},
        ),
    )


def _count(db: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from events").fetchone()[0])


@pytest.fixture
def sqlite_plugin(tmp_path):
    def open_plugin(**spec: object) -> tuple[ExternalDestination, str]:
        db = str(tmp_path / "db.sqlite")
        # A plugin batch larger than what is sent: rows are committed only at the stream's end.
        full = {"connection_string": db, "batch_size": 100_000, **spec}
        plugin = ExternalDestination(
            Registry.LOCAL,
            plugin_exe("syncline-plugin-sqlite"),
            ExternalSpec.model_validate(full),
            PluginContext("sqlite"),
        )
        opened.append(plugin)
        return plugin, db

    opened: list[ExternalDestination] = []
    yield open_plugin
    for plugin in opened:
        plugin.close()


def test_rows_sent_are_durable_only_once_the_stream_ends(sqlite_plugin):
    plugin, db = sqlite_plugin()
    writer = BatchWriter("sqlite", plugin, plugin.limits)
    try:
        writer.migrate([TABLE], False)
        for seq in range(1, 4):  # three batches of the engine's send size
            writer.insert(TABLE, _rows((seq - 1) * 10_000, 10_000), seq)
        writer.insert(TABLE, _rows(30_000, 5), 4)  # still buffered in the engine
        assert writer.durable_seq == 0  # the batches are sent, the stream is open
        assert _count(db) == 0  # and the plugin has not committed them
        writer.flush()
        assert writer.durable_seq == 4
        assert _count(db) == 30_005
    finally:
        writer.close()


def test_a_stream_ends_by_itself_after_its_rows(sqlite_plugin, monkeypatch):
    monkeypatch.setattr(grpc_destination, "STREAM_ROWS", 20_000)
    plugin, db = sqlite_plugin()
    writer = BatchWriter("sqlite", plugin, plugin.limits)
    try:
        writer.migrate([TABLE], False)
        writer.insert(TABLE, _rows(0, 10_000), 1)
        writer.insert(TABLE, _rows(10_000, 10_000), 2)
        # Batch 3's send waits for batch 2's, which filled the stream and so ended it.
        writer.insert(TABLE, _rows(20_000, 10_000), 3)
        assert writer.durable_seq == 2  # batch 3 is on a new stream
        assert _count(db) == 20_000
    finally:
        writer.close()


def test_the_batch_timeout_ends_an_open_stream(sqlite_plugin):
    plugin, db = sqlite_plugin()
    writer = BatchWriter("sqlite", plugin, replace(plugin.limits, timeout_s=0.0))
    try:
        writer.migrate([TABLE], False)
        writer.insert(TABLE, _rows(0, 10_000), 1)  # sent at once (a full batch)
        writer.flush_expired()  # the rows sent are older than the timeout
        assert writer.durable_seq == 1
        assert _count(db) == 10_000
    finally:
        writer.close()


def test_other_writes_come_after_the_rows_sent_before_them(sqlite_plugin):
    plugin, db = sqlite_plugin()
    writer = BatchWriter("sqlite", plugin, plugin.limits)
    try:
        writer.migrate([TABLE], False)
        writer.insert(TABLE, _rows(0, 10_000), 1)
        # A delete on the plugin ends the open stream first: the rows it matches are there.
        writer.delete_record(TABLE, {"id": 7})
        assert writer.durable_seq == 1
        assert _count(db) == 9_999
    finally:
        writer.close()


def test_a_plugin_that_dies_mid_stream_fails_the_write(sqlite_plugin):
    plugin, _ = sqlite_plugin()
    writer = BatchWriter("sqlite", plugin, plugin.limits)
    try:
        writer.migrate([TABLE], False)
        writer.insert(TABLE, _rows(0, 10_000), 1)
        assert plugin.process is not None
        plugin.process.proc.kill()
        plugin.process.proc.wait()
        with pytest.raises(WriteError, match="destination sqlite: insert failed"):
            writer.insert(TABLE, _rows(10_000, 10_000), 2)
            writer.flush()
        assert writer.durable_seq == 0
    finally:
        writer.close()
