"""Values the SQLite destination stores in another form come back as they were written."""

from __future__ import annotations

import pyarrow as pa

from syncline.connectors.sqlite import SQLiteDestination, SQLiteSpec
from syncline.plugin.contracts import PluginContext
from syncline.schema.table import Column, Table


def test_unsigned_64_bit_values_above_the_signed_range_read_back_unchanged(tmp_path):
    """SQLite integers are signed: values of 2**63 and more are stored wrapped into the
    negatives, and reading them back must unwrap them, not fail or change them."""
    table = Table(
        name="counters",
        columns=(Column("id", pa.int64(), primary_key=True), Column("n", pa.uint64())),
    )
    values = [0, 5, 2**63 - 1, 2**63, 2**63 + 7, 2**64 - 1, None]
    dest = SQLiteDestination(
        SQLiteSpec(connection_string=str(tmp_path / "db.sqlite")), PluginContext("sqlite")
    )
    try:
        dest.migrate_tables([table], force=False)
        record = pa.record_batch(
            {"id": pa.array(range(len(values)), pa.int64()), "n": pa.array(values, pa.uint64())}
        )
        dest.write_batch(table, [dest.prepare(table, record)])
        read = pa.Table.from_batches(list(dest.read(table)))
    finally:
        dest.close()
    assert read.schema.field("n").type == pa.uint64()
    ids, numbers = read.column("id").to_pylist(), read.column("n").to_pylist()
    assert sorted(zip(ids, numbers, strict=True)) == list(enumerate(values))
