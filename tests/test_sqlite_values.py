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


def test_uuids_are_stored_as_their_canonical_text(tmp_path):
    """UUIDs are written as Python's ``str(uuid)`` text, nulls as NULL, whatever the offset of
    the batch in its buffers, and read back as the same bytes; an all-null column too."""
    import random
    import uuid

    from syncline.schema.types import UUID
    from syncline.writers.values import uuid_to_text

    rng = random.Random(7)
    raw: list[bytes | None] = [rng.randbytes(16) for _ in range(300)] + [None] * 20
    raw += [bytes(16), b"\xff" * 16]
    rng.shuffle(raw)
    column = pa.ExtensionArray.from_storage(UUID, pa.array(raw, pa.binary(16)))
    for part in (column, column.slice(13, 200), column.slice(0, 0)):
        expected = [
            None if v is None else str(uuid.UUID(bytes=v)) for v in part.storage.to_pylist()
        ]
        assert uuid_to_text(part).to_pylist() == expected
    nulls = pa.ExtensionArray.from_storage(UUID, pa.nulls(4, pa.binary(16)))
    assert uuid_to_text(nulls).to_pylist() == [None] * 4
    assert uuid_to_text(nulls).type == pa.utf8()

    table = Table(
        name="ids",
        columns=(Column("id", pa.int64(), primary_key=True), Column("u", UUID)),
    )
    dest = SQLiteDestination(
        SQLiteSpec(connection_string=str(tmp_path / "db.sqlite")), PluginContext("sqlite")
    )
    try:
        dest.migrate_tables([table], force=False)
        record = pa.record_batch({"id": pa.array(range(len(raw)), pa.int64()), "u": column})
        dest.write_batch(table, [dest.prepare(table, record)])
        read = pa.Table.from_batches(list(dest.read(table)))
    finally:
        dest.close()
    stored = read.column("u").combine_chunks().storage.to_pylist()
    pairs = zip(read.column("id").to_pylist(), stored, strict=True)
    assert sorted(pairs) == list(enumerate(raw))
