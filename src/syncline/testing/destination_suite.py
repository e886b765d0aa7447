"""A conformance suite every destination passes; shipped so plugin authors can run it too.

Usage with pytest::

    from syncline.testing.destination_suite import CASES, Harness

    @pytest.fixture
    def harness(tmp_path):
        return Harness(lambda: MyDestination(MySpec(...), PluginContext("my")))

    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
    def test_conformance(case, harness):
        case(harness)

Every case works on fresh, uniquely named tables and checks results through ``read``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from syncline.config.models import WriteMode
from syncline.plugin.contracts import DestinationPlugin
from syncline.plugin.errors import MigrationError
from syncline.schema.arrow import rows_to_record, to_arrow_schema
from syncline.schema.internal import CQ_ID, CQ_SOURCE_NAME, CQ_SYNC_TIME, SYNC_TIME_TYPE
from syncline.schema.table import Column, Table
from syncline.schema.types import JSON, UUID
from syncline.state.client import StateClient


@dataclass
class Harness:
    """How the suite gets a destination, and what that destination can do."""

    make: Callable[[], DestinationPlugin]
    # Capabilities a destination may lack (e.g. a file destination only appends).
    upsert: bool = True
    migrations: bool = True
    delete: bool = True
    read: bool = True
    _open: list[DestinationPlugin] = field(default_factory=list)

    def plugin(self) -> DestinationPlugin:
        p = self.make()
        self._open.append(p)
        return p

    def close(self) -> None:
        for p in self._open:
            p.close()
        self._open.clear()


class Skip(Exception):
    """A case that does not apply to this destination's capabilities."""


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _table(name: str, *, pk: bool = True, extra: tuple[Column, ...] = ()) -> Table:
    return Table(
        name=name,
        columns=(
            Column(CQ_SYNC_TIME, SYNC_TIME_TYPE),
            Column(CQ_SOURCE_NAME, pa.utf8()),
            Column(CQ_ID, UUID, not_null=True),
            Column("id", pa.int64(), primary_key=pk, not_null=pk),
            Column("name", pa.utf8()),
            *extra,
        ),
    )


def _rows(table: Table, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    return rows_to_record(to_arrow_schema(table), rows)


def _row(i: int, name: str, source: str = "src", when: datetime | None = None) -> dict[str, Any]:
    return {
        CQ_SYNC_TIME: when or datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
        CQ_SOURCE_NAME: source,
        CQ_ID: uuid.uuid4(),
        "id": i,
        "name": name,
    }


def _write(p: DestinationPlugin, table: Table, *batches: pa.RecordBatch) -> None:
    p.write_batch(table, [p.prepare(table, b) for b in batches])


def _read(p: DestinationPlugin, table: Table, *order: str) -> list[dict[str, Any]]:
    rows = [r for b in p.read(table) for r in b.to_pylist()]
    keys = order or ("id",)
    return sorted(rows, key=lambda r: [(r[k] is None, r[k]) for k in keys])


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise Skip(what)


# -- cases -----------------------------------------------------------------------------------


def migrate_new_table(h: Harness) -> None:
    _need(h.read, "read")
    p = h.plugin()
    t = _table(_name("new"))
    p.migrate_tables([t], False)
    assert _read(p, t) == []
    p.migrate_tables([t], False)  # migrating again changes nothing
    _write(p, t, _rows(t, [_row(1, "a"), _row(2, "b")]))
    assert [(r["id"], r["name"]) for r in _read(p, t)] == [(1, "a"), (2, "b")]


def add_column_safe(h: Harness) -> None:
    _need(h.read and h.migrations, "safe migrations")
    p = h.plugin()
    t1 = _table(_name("add"))
    p.migrate_tables([t1], False)
    _write(p, t1, _rows(t1, [_row(1, "a")]))
    t2 = replace(t1, columns=(*t1.columns, Column("extra", pa.int64())))
    p.migrate_tables([t2], False)
    _write(p, t2, _rows(t2, [{**_row(2, "b"), "extra": 7}]))
    assert [(r["id"], r["extra"]) for r in _read(p, t2)] == [(1, None), (2, 7)]


def refuse_breaking_change_safe(h: Harness) -> None:
    _need(h.read and h.migrations, "safe migrations")
    p = h.plugin()
    t1 = _table(_name("breaking"))
    p.migrate_tables([t1], False)
    _write(p, t1, _rows(t1, [_row(1, "a")]))
    cols = tuple(replace(c, type=pa.float64()) if c.name == "name" else c for c in t1.columns)
    try:
        p.migrate_tables([replace(t1, columns=cols)], False)
    except MigrationError as e:
        text = str(e)
        assert t1.name in text and '"name"' in text and "forced" in text, text
    else:
        raise AssertionError("a type change was accepted in safe mode")
    assert [r["name"] for r in _read(p, t1)] == ["a"]  # nothing was dropped


def forced_recreates(h: Harness) -> None:
    _need(h.read and h.migrations, "migrations")
    p = h.plugin()
    t1 = _table(_name("forced"))
    p.migrate_tables([t1], False)
    _write(p, t1, _rows(t1, [_row(1, "a")]))
    cols = tuple(replace(c, type=pa.float64()) if c.name == "name" else c for c in t1.columns)
    t2 = replace(t1, columns=cols)
    p.migrate_tables([t2], True)
    assert _read(p, t2) == []
    _write(p, t2, _rows(t2, [{**_row(1, "x"), "name": 1.5}]))
    assert [r["name"] for r in _read(p, t2)] == [1.5]


def append_adds_rows(h: Harness) -> None:
    _need(h.read, "read")
    p = h.plugin()
    t = _table(_name("append"), pk=False)
    p.migrate_tables([t], False)
    batch = _rows(t, [_row(1, "a"), _row(2, "b")])
    _write(p, t, batch)
    _write(p, t, batch)
    assert [r["id"] for r in _read(p, t)] == [1, 1, 2, 2]


def overwrite_upserts_last_wins(h: Harness) -> None:
    _need(h.read and h.upsert, "upsert")
    p = h.plugin()
    t = _table(_name("upsert"))
    p.migrate_tables([t], False)
    _write(p, t, _rows(t, [_row(1, "a"), _row(2, "b")]))
    # duplicate keys inside one batch and across batches of one write: the last row wins
    _write(
        p,
        t,
        _rows(t, [_row(2, "b2"), _row(3, "c"), _row(2, "b3")]),
        _rows(t, [_row(3, "c2")]),
    )
    assert [(r["id"], r["name"]) for r in _read(p, t)] == [(1, "a"), (2, "b3"), (3, "c2")]


def delete_stale_only_this_source(h: Harness) -> None:
    _need(h.read and h.delete, "delete")
    p = h.plugin()
    t = _table(_name("stale"))
    p.migrate_tables([t], False)
    old = datetime(2024, 1, 1, tzinfo=UTC)
    now = old + timedelta(days=1, microseconds=1)
    _write(
        p,
        t,
        _rows(
            t,
            [
                _row(1, "old-a", "a", old),
                _row(2, "new-a", "a", now),
                _row(3, "old-b", "b", old),
                _row(4, "later-a", "a", now + timedelta(microseconds=1)),
            ],
        ),
    )
    p.delete_stale(t, "a", now)
    assert [r["name"] for r in _read(p, t)] == ["new-a", "old-b", "later-a"]


def delete_record_by_key(h: Harness) -> None:
    _need(h.read and h.delete, "delete")
    p = h.plugin()
    t = _table(_name("delrec"))
    p.migrate_tables([t], False)
    _write(p, t, _rows(t, [_row(1, "a"), _row(2, "b"), _row(3, "c")]))
    p.delete_record(t, {"id": 2})
    assert [r["id"] for r in _read(p, t)] == [1, 3]


def state_table_round_trip(h: Harness) -> None:
    _need(h.read, "read")
    p = h.plugin()
    name = _name("state")
    client = StateClient(p, name, upsert=h.upsert)
    client.load()
    client.commit({"k1": "10", "k2": "x"})
    client.commit({"k1": "20"})
    again = StateClient(h.plugin(), name, upsert=h.upsert)
    again.load()
    assert again.items() == {"k1": "20", "k2": "x"}


def every_type_round_trips(h: Harness) -> None:
    _need(h.read, "read")
    from syncline.connectors.test_source.tables import some_table_batch

    p = h.plugin()
    sample = some_table_batch(3, 1, 6)
    t = Table(
        name=_name("types"),
        columns=tuple(
            Column(f.name, f.type, primary_key=f.name in ("client_id", "id")) for f in sample.schema
        ),
    )
    p.migrate_tables([t], False)
    record = pa.RecordBatch.from_arrays(sample.columns, schema=to_arrow_schema(t))
    nulls = rows_to_record(to_arrow_schema(t), [{"client_id": 9, "id": 1}])
    _write(p, t, record, nulls)
    got = _read(p, t, "client_id", "id")
    want = sorted(record.to_pylist() + nulls.to_pylist(), key=lambda r: (r["client_id"], r["id"]))
    assert [_normal(r) for r in got] == [_normal(r) for r in want]


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    # JSON may come back re-serialised by the database; compare documents, not bytes.
    import json

    out = dict(row)
    for k, v in row.items():
        if isinstance(v, bytes) and k == "json_col":
            out[k] = json.loads(v)
    return out


def names_that_need_quoting(h: Harness) -> None:
    _need(h.read, "read")
    p = h.plugin()
    name = _name('Odd "Table"; DROP TABLE x;--')
    t = Table(
        name=name,
        columns=(
            Column(CQ_SYNC_TIME, SYNC_TIME_TYPE),
            Column(CQ_SOURCE_NAME, pa.utf8()),
            Column("select", pa.int64(), primary_key=h.upsert, not_null=h.upsert),
            Column("Mixed Case", pa.utf8()),
            Column("with space", pa.utf8()),
            Column("quo'te\"d", JSON),
        ),
    )
    p.migrate_tables([t], False)
    row = {CQ_SYNC_TIME: datetime(2024, 1, 1, tzinfo=UTC), CQ_SOURCE_NAME: "s"}
    _write(
        p,
        t,
        _rows(
            t, [{**row, "select": 1, "Mixed Case": "A", "with space": "b", "quo'te\"d": {"k": 1}}]
        ),
    )
    if h.upsert:
        _write(p, t, _rows(t, [{**row, "select": 1, "Mixed Case": "A2", "with space": "b"}]))
    got = _read(p, t, "select")
    assert [(r["select"], r["Mixed Case"], r["with space"]) for r in got] == [
        (1, "A2" if h.upsert else "A", "b")
    ]
    if h.delete:
        p.delete_stale(t, "s", datetime(2025, 1, 1, tzinfo=UTC))
        assert _read(p, t, "select") == []


CASES: list[Callable[[Harness], None]] = [
    migrate_new_table,
    add_column_safe,
    refuse_breaking_change_safe,
    forced_recreates,
    append_adds_rows,
    overwrite_upserts_last_wins,
    delete_stale_only_this_source,
    delete_record_by_key,
    state_table_round_trip,
    every_type_round_trips,
    names_that_need_quoting,
]

__all__ = ["CASES", "Harness", "Skip", "WriteMode"]
