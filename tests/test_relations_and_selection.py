"""Relations (_cq_parent_id) and table selection rules, on real syncs into SQLite, DuckDB and
PostgreSQL."""

from __future__ import annotations

import pytest
from conftest import config, source_doc, sqlite_doc
from destinations import SqlDestination, dest  # noqa: F401  (the parametrised fixture)

from syncline.connectors.test_source.tables import TABLES
from syncline.schema.selection import SelectionError, select_tables
from syncline.schema.table import Column, Table, flatten


def src(tables: str, spec: str, extra: str = "") -> str:
    return source_doc(destinations=("dest",), tables=tables, extra=extra, spec=spec)


def test_child_rows_point_at_their_parent(write, run_cli, dest: SqlDestination):  # noqa: F811
    tables = '["test_some_table", "test_sub_table"]'
    write("a.yml", config(src(tables, "num_rows: 4\nnum_sub_rows: 3"), dest.doc()))
    assert run_cli("sync", "a.yml").code == 0
    assert dest.value("select count(*) from test_sub_table") == 12
    joined = dest.sql(
        "select s.parent_id, p.id from test_sub_table s join test_some_table p "
        "on s._cq_parent_id = p._cq_id"
    )
    assert len(joined) == 12 and all(parent_id == pid for parent_id, pid in joined)
    assert dest.value("select count(*) from test_some_table where _cq_parent_id is not null") == 0
    assert dest.value("select count(distinct _cq_id) from test_sub_table") == 12


def test_selecting_a_child_pulls_in_its_parent(write, run_cli, dest: SqlDestination):  # noqa: F811
    write("a.yml", config(src('["test_sub_table"]', "num_rows: 2\nnum_sub_rows: 2"), dest.doc()))
    assert run_cli("sync", "a.yml").code == 0
    assert dest.value("select count(*) from test_some_table") == 2
    assert dest.value("select count(*) from test_sub_table") == 4
    assert not dest.has_table("test_incremental_table")


def test_skip_dependent_tables_false_includes_children(
    write,
    run_cli,
    dest: SqlDestination,  # noqa: F811
):
    spec = "num_rows: 2\nnum_sub_rows: 2"
    doc = src('["test_some_table"]', spec, extra="skip_dependent_tables: false")
    write("a.yml", config(doc, dest.doc()))
    assert run_cli("sync", "a.yml").code == 0
    assert dest.value("select count(*) from test_sub_table") == 4


def test_pattern_with_no_match_is_an_error(write, run_cli):
    write("a.yml", config(source_doc(tables='["test_nothing_*"]'), sqlite_doc()))
    r = run_cli("sync", "a.yml")
    assert r.code == 1
    assert "tables include a pattern test_nothing_* with no matches" in r.err


def _names(tables: list[Table]) -> list[str]:
    return [t.name for t in flatten(tables)]


def test_selection_rules():
    assert _names(select_tables(TABLES, ["*"])) == [
        "test_some_table",
        "test_sub_table",
        "test_incremental_table",
    ]
    # skip wins and removes the whole subtree
    assert _names(select_tables(TABLES, ["*"], ["test_some_table"])) == ["test_incremental_table"]
    assert _names(select_tables(TABLES, ["test_*"], ["*_sub_*"])) == [
        "test_some_table",
        "test_incremental_table",
    ]
    assert _names(select_tables(TABLES, ["test_some_table"])) == ["test_some_table"]
    assert _names(select_tables(TABLES, ["test_some_table"], skip_dependent_tables=False)) == [
        "test_some_table",
        "test_sub_table",
    ]
    with pytest.raises(SelectionError, match="skip_tables include a pattern nope with no matches"):
        select_tables(TABLES, ["*"], ["nope"])
    # "*" is the only wildcard: other glob characters are literal
    with pytest.raises(SelectionError, match="no matches"):
        select_tables(TABLES, ["test_?ome_table"])


def test_selection_keeps_ancestors_but_not_their_other_children():
    leaf = Table("c1", (Column("x", None),), parent="p")  # type: ignore[arg-type]
    other = Table("c2", (Column("x", None),), parent="p")  # type: ignore[arg-type]
    parent = Table("p", (Column("x", None),), relations=(leaf, other))  # type: ignore[arg-type]
    assert _names(select_tables([parent], ["c1"])) == ["p", "c1"]
