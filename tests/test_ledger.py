"""The checkpoint ledger and the batch writer's durability watermark, under random schedules."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from syncline.engine.ledger import CheckpointLedger
from syncline.plugin.contracts import BatchLimits
from syncline.schema.table import Column, Table
from syncline.writers.batch import BatchWriter


@pytest.mark.parametrize("seed", range(200))
def test_no_checkpoint_is_committable_before_its_rows_are_durable_everywhere(seed):
    rng = random.Random(seed)
    dests = [f"d{i}" for i in range(rng.randint(1, 3))]
    ledger = CheckpointLedger(dests)
    durable = dict.fromkeys(dests, 0)
    issued = 0
    checkpoint_seq: dict[str, list[tuple[int, int]]] = {}
    committed: dict[str, int] = {}
    for _ in range(300):
        action = rng.random()
        if action < 0.5:
            issued = ledger.next_seq()
        elif action < 0.7:
            key = rng.choice("ab")
            value = len(checkpoint_seq.setdefault(key, []))
            checkpoint_seq[key].append((issued, value))
            ledger.checkpoint(key, str(value))
        else:
            d = rng.choice(dests)
            durable[d] = rng.randint(durable[d], issued)
            ledger.durable(d, durable[d])
        for key, value in ledger.committable().items():
            seq = dict((v, s) for s, v in checkpoint_seq[key])[int(value)]
            assert seq <= min(durable.values())  # all inserts before it are durable everywhere
            assert int(value) > committed.get(key, -1)  # per key, monotone
            committed[key] = int(value)
    # once everything is durable, the last checkpoint of every key is committable
    for d in dests:
        ledger.durable(d, issued)
    final = {**committed, **{k: int(v) for k, v in ledger.committable().items()}}
    assert final == {k: v[-1][1] for k, v in checkpoint_seq.items()}


def test_durable_watermark_of_the_batch_writer():
    written: list[int] = []

    class Recorder:
        limits = BatchLimits(rows=3, bytes=1 << 30, timeout_s=60)

        def prepare(self, table, record):
            return record

        def write_batch(self, table, records):
            written.append(sum(r.num_rows for r in records))

    t1 = Table("t1", (Column("x", pa.int64()),))
    t2 = Table("t2", (Column("x", pa.int64()),))
    w = BatchWriter("rec", Recorder(), Recorder.limits)  # type: ignore[arg-type]
    batch = pa.record_batch({"x": [1, 2]})
    w.insert(t1, batch, 1)
    w.insert(t2, batch, 2)
    assert w.durable_seq == 0  # both tables have rows buffered
    w.insert(t1, batch, 3)  # t1 reaches 3 rows: flushed (exactly 3), 1 row of seq 3 left
    w._settle()
    assert written == [3]
    assert w.durable_seq == 1
    w.flush()
    assert sorted(written) == [1, 2, 3] and w.durable_seq == 3
    w.close()
