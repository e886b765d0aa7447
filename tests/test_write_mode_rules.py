"""The write-mode rules as pure functions: no database, no sync."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from syncline.config.models import PkMode, WriteMode
from syncline.engine.transform import DestinationTransform
from syncline.engine.write_modes import (
    StaleStep,
    delete_stale_plan,
    deletes_stale,
    kept_from_delete_stale,
    keyed_columns,
    lineage_failed,
    state_upserts,
    unsupported_write_mode,
)
from syncline.schema.internal import CQ_ID, CQ_SYNC_GROUP_ID
from syncline.schema.table import Column, Table

COLUMNS = (
    Column(CQ_ID, pa.utf8(), unique=True, not_null=True),
    Column(CQ_SYNC_GROUP_ID, pa.utf8(), primary_key=True),
    Column("id", pa.int64(), primary_key=True, not_null=True),
    Column("email", pa.utf8(), unique=True),
    Column("name", pa.utf8()),
)


def keys(columns: tuple[Column, ...]) -> tuple[list[str], list[str]]:
    return [c.name for c in columns if c.primary_key], [c.name for c in columns if c.unique]


def table(name: str, parent: str | None = None, incremental: bool = False) -> Table:
    return Table(name, (Column("id", pa.int64()),), parent=parent, is_incremental=incremental)


def tables(*items: Table) -> dict[str, Table]:
    return {t.name: t for t in items}


def test_append_drops_every_primary_key_and_unique_flag():
    out = keyed_columns(COLUMNS, WriteMode.APPEND)
    assert keys(out) == ([], [])
    assert [c.name for c in out] == [c.name for c in COLUMNS]
    assert [c.not_null for c in out] == [c.not_null for c in COLUMNS]


def test_append_wins_over_cq_id_only_keys():
    out = keyed_columns(COLUMNS, WriteMode.APPEND, PkMode.CQ_ID_ONLY, deterministic_cq_id=True)
    assert keys(out) == ([], [])


def test_overwrite_modes_keep_the_source_keys():
    for mode in (WriteMode.OVERWRITE, WriteMode.OVERWRITE_DELETE_STALE):
        out = keyed_columns(COLUMNS, mode)
        assert keys(out) == ([CQ_SYNC_GROUP_ID, "id"], [CQ_ID, "email"])


def test_cq_id_only_makes_cq_id_the_only_key():
    out = keyed_columns(COLUMNS, WriteMode.OVERWRITE, PkMode.CQ_ID_ONLY)
    assert keys(out) == ([CQ_ID], [CQ_ID, "email"])


def test_deterministic_cq_id_keys_by_cq_id_and_sync_group():
    out = keyed_columns(COLUMNS, WriteMode.OVERWRITE, deterministic_cq_id=True)
    assert keys(out) == ([CQ_ID, CQ_SYNC_GROUP_ID], [CQ_ID, "email"])
    out = keyed_columns(COLUMNS, WriteMode.OVERWRITE, PkMode.CQ_ID_ONLY, deterministic_cq_id=True)
    assert keys(out)[0] == [CQ_ID]


def test_destination_transform_sends_internal_columns_with_the_mode_keys():
    source = Table("t", (COLUMNS[0], COLUMNS[2], COLUMNS[4]))
    now = datetime(2026, 1, 2, tzinfo=UTC)
    append = DestinationTransform(now, "src", WriteMode.APPEND, sync_group_id="g").table(source)
    assert [c.name for c in append.columns] == [
        "_cq_sync_time",
        "_cq_source_name",
        CQ_SYNC_GROUP_ID,
        CQ_ID,
        "id",
        "name",
    ]
    assert keys(append.columns) == ([], [])
    overwrite = DestinationTransform(now, "src", WriteMode.OVERWRITE, sync_group_id="g")
    assert keys(overwrite.table(source).columns)[0] == [CQ_SYNC_GROUP_ID, "id"]


def test_only_overwrite_delete_stale_deletes_stale_rows():
    assert deletes_stale(WriteMode.OVERWRITE_DELETE_STALE)
    assert not deletes_stale(WriteMode.OVERWRITE)
    assert not deletes_stale(WriteMode.APPEND)


def test_without_state_every_table_is_delete_staled():
    synced = [table("a", incremental=True), table("b", parent="a")]
    assert kept_from_delete_stale(synced, keeps_state=False) == set()


def test_with_state_incremental_tables_and_their_descendants_are_kept():
    synced = [
        table("plain"),
        table("plain_child", parent="plain"),
        table("inc", incremental=True),
        table("inc_child", parent="inc"),
        table("inc_grandchild", parent="inc_child"),
        table("inc_below_plain", parent="plain", incremental=True),
    ]
    kept = kept_from_delete_stale(synced, keeps_state=True)
    assert kept == {"inc", "inc_child", "inc_grandchild", "inc_below_plain"}


def test_a_full_refresh_delete_stales_the_refreshed_tables():
    synced = [table("inc", incremental=True), table("inc_child", parent="inc")]
    assert kept_from_delete_stale(synced, keeps_state=True, refreshed={"inc"}) == set()
    both = [*synced, table("other", incremental=True)]
    assert kept_from_delete_stale(both, keeps_state=True, refreshed={"inc"}) == {"other"}


def test_a_failed_table_keeps_its_rows_and_those_of_its_descendants():
    synced = tables(
        table("a"), table("b", parent="a"), table("c", parent="b"), table("d"), table("e")
    )
    assert lineage_failed("c", synced, {"a"})
    assert not lineage_failed("d", synced, {"a"})
    plan = delete_stale_plan(synced, kept={"e"}, failed={"b"})
    assert plan == [
        StaleStep("a", delete=True),
        StaleStep("b", delete=False),
        StaleStep("c", delete=False),
        StaleStep("d", delete=True),
    ]


def test_a_parent_outside_the_sync_ends_the_lineage():
    synced = tables(table("child", parent="missing"))
    assert not lineage_failed("child", synced, set())
    assert lineage_failed("child", synced, {"missing"})


def test_state_upserts_unless_its_destination_appends():
    every = frozenset(WriteMode)
    assert state_upserts(WriteMode.OVERWRITE_DELETE_STALE, every)
    assert state_upserts(WriteMode.OVERWRITE, every)
    assert not state_upserts(WriteMode.APPEND, every)
    no_overwrite = frozenset({WriteMode.APPEND, WriteMode.OVERWRITE_DELETE_STALE})
    assert not state_upserts(WriteMode.OVERWRITE_DELETE_STALE, no_overwrite)


def test_an_unsupported_write_mode_is_named_with_the_supported_ones():
    append_only = frozenset({WriteMode.APPEND})
    assert unsupported_write_mode(WriteMode.APPEND, append_only, "cloudquery/file") is None
    assert unsupported_write_mode(WriteMode.OVERWRITE, append_only, "cloudquery/file") == (
        "write_mode overwrite is not supported by cloudquery/file (supported: append)"
    )
    two = frozenset({WriteMode.OVERWRITE, WriteMode.APPEND})
    assert unsupported_write_mode(WriteMode.OVERWRITE_DELETE_STALE, two, "x") == (
        "write_mode overwrite-delete-stale is not supported by x (supported: append, overwrite)"
    )
