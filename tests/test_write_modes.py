"""Each write mode over two syncs, into a real SQLite file, a real DuckDB file and the real
PostgreSQL server (the ``dest`` fixture)."""

from __future__ import annotations

from conftest import config, query, source_doc, sqlite_doc
from destinations import SqlDestination, dest  # noqa: F401  (the parametrised fixture)

SOME = '["test_some_table"]'


def src(spec: str, name: str = "test", extra: str = "", tables: str = SOME) -> str:
    return source_doc(name=name, destinations=("dest",), tables=tables, extra=extra, spec=spec)


def test_overwrite_delete_stale_removes_rows_no_longer_produced(
    write,
    run_cli,
    dest: SqlDestination,  # noqa: F811
):
    write("a.yml", config(src("num_rows: 10"), dest.doc()))
    assert run_cli("sync", "a.yml").code == 0
    assert dest.value("select count(*) from test_some_table") == 10
    first_time = dest.value("select min(_cq_sync_time) from test_some_table")

    write("a.yml", config(src("num_rows: 5"), dest.doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 0, r.err
    assert dest.sql("select id from test_some_table order by id") == [(i,) for i in range(1, 6)]
    # Every remaining row was written by the second sync.
    assert dest.value("select min(_cq_sync_time) from test_some_table") > first_time
    # skip_dependent_tables defaults to true: the child table was not synced.
    assert dest.has_table("test_some_table") and not dest.has_table("test_sub_table")


def test_delete_stale_keeps_rows_of_another_source(write, run_cli, dest: SqlDestination):  # noqa: F811
    two_sources = config(
        src("num_rows: 3", name="one"), src("num_rows: 3\nnum_clients: 2", name="two"), dest.doc()
    )
    write("a.yml", two_sources)
    assert run_cli("sync", "a.yml").code == 0
    per_source = "select _cq_source_name, count(*) from test_some_table group by 1 order by 1"
    # Both sources write client 0's ids 1..3 (same keys: the later source wins), "two" adds client 1.
    assert dest.sql(per_source) == [("two", 6)]
    write("b.yml", config(src("num_rows: 1", name="one"), dest.doc()))
    assert run_cli("sync", "b.yml").code == 0
    # Source "one" rewrote id 1 and deleted only its own stale rows: none of "two"'s rows.
    assert dest.sql(per_source) == [("one", 1), ("two", 5)]


def test_overwrite_keeps_count_and_updates_values(write, run_cli, dest: SqlDestination):  # noqa: F811
    cfg = config(src("num_rows: 10"), dest.doc(extra="write_mode: overwrite"))
    write("a.yml", cfg)
    assert run_cli("sync", "a.yml").code == 0
    before = dict(dest.sql("select id, _cq_id from test_some_table"))
    t1 = dest.value("select max(_cq_sync_time) from test_some_table")
    # A manual edit is overwritten by the next sync (a true upsert of every column).
    dest.sql("update test_some_table set string_col = 'edited' where id = 3")

    assert run_cli("sync", "a.yml").code == 0
    assert dest.value("select count(*) from test_some_table") == 10
    assert dest.value("select string_col from test_some_table where id = 3") == "row-0-3"
    assert dest.value("select min(_cq_sync_time) from test_some_table") > t1
    after = dict(dest.sql("select id, _cq_id from test_some_table"))
    assert before.keys() == after.keys() and all(before[k] != after[k] for k in before)

    # overwrite never deletes: fewer rows produced leaves the old ones in place
    write("a.yml", cfg.replace("num_rows: 10", "num_rows: 4"))
    assert run_cli("sync", "a.yml").code == 0
    assert dest.value("select count(*) from test_some_table") == 10


def test_append_doubles_rows_and_has_no_primary_key(write, run_cli, dest: SqlDestination):  # noqa: F811
    write("a.yml", config(src("num_rows: 7"), dest.doc(extra="write_mode: append")))
    assert run_cli("sync", "a.yml").code == 0
    assert run_cli("sync", "a.yml").code == 0
    assert dest.value("select count(*) from test_some_table") == 14
    assert dest.value("select count(distinct id) from test_some_table") == 7
    assert dest.value("select count(distinct _cq_sync_time) from test_some_table") == 2
    assert dest.primary_key("test_some_table") == []


def test_deterministic_cq_id_with_cq_id_only_keys(write, run_cli, dest: SqlDestination):  # noqa: F811
    cfg = config(
        src("num_rows: 6", extra="deterministic_cq_id: true"),
        dest.doc(extra="pk_mode: cq-id-only"),
    )
    write("a.yml", cfg)
    assert run_cli("sync", "a.yml").code == 0
    first = dict(dest.sql("select id, _cq_id from test_some_table"))
    assert dest.primary_key("test_some_table") == ["_cq_id"]
    assert run_cli("sync", "a.yml").code == 0
    # the same key values give the same _cq_id, so the second sync updated the same rows
    assert dict(dest.sql("select id, _cq_id from test_some_table")) == first
    assert dest.value("select count(*) from test_some_table") == 6
    assert len(set(first.values())) == 6


def test_values_of_every_type_are_stored(write, run_cli, workdir):
    """SQLite's storage forms; the conformance suite round-trips every type on each database."""
    write(
        "a.yml",
        config(
            source_doc(tables=SOME, spec="num_rows: 3\nnum_clients: 2"),
            sqlite_doc(),
        ),
    )
    assert run_cli("sync", "a.yml").code == 0
    row = query(
        workdir / "db.sqlite",
        "select client_id, id, int8_col, int16_col, int32_col, int64_col, uint32_col, float64_col, "
        "bool_col, string_col, timestamp_col, date_col, binary_col, json_col, uuid_col, list_col, "
        "_cq_source_name from test_some_table where client_id = 1 and id = 2",
    )[0]
    assert row == (
        1,
        2,
        2,
        2,
        2,
        2000,
        2,
        1.0,
        1,
        "row-1-2",
        "2024-01-01 00:00:02.000000",
        "2024-01-03",
        b"\x00\x00\x00\x00\x00\x00\x00\x02",
        '{"id":2,"client":1}',
        "00000000-0000-8001-8000-000000000002",
        "[2,3]",
        "test",
    )
