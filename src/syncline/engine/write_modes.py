"""Every write-mode rule in one place, as pure functions over tables and modes.

What a destination is sent (keys per mode), which tables lose their stale rows after a clean
run, and how the state table keeps cursors. The engine asks these; it decides nothing itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from syncline.config.models import PkMode, WriteMode
from syncline.schema.internal import CQ_ID, CQ_SYNC_GROUP_ID
from syncline.schema.table import Column, Table


def unsupported_write_mode(
    mode: WriteMode, supported: Collection[WriteMode], path: str
) -> str | None:
    """Why destination plugin ``path`` cannot take ``mode`` (None when it can)."""
    if mode in supported:
        return None
    names = ", ".join(sorted(m.value for m in supported))
    return f"write_mode {mode.value} is not supported by {path} (supported: {names})"


def deletes_stale_supported(supported: Collection[WriteMode]) -> bool:
    """Whether a destination with these write modes can delete rows of earlier syncs."""
    return WriteMode.OVERWRITE_DELETE_STALE in supported


def keyed_columns(
    columns: Sequence[Column],
    mode: WriteMode,
    pk_mode: PkMode = PkMode.DEFAULT,
    *,
    deterministic_cq_id: bool = False,
) -> tuple[Column, ...]:
    """The key flags a destination receives: none in append mode (plain inserts, every sync
    adds rows); ``_cq_id`` alone with ``pk_mode: cq-id-only`` or a deterministic ``_cq_id``
    (plus ``_cq_sync_group_id`` unless cq-id-only); else the source's own keys."""
    if mode is WriteMode.APPEND:
        return tuple(replace(c, primary_key=False, unique=False) for c in columns)
    if pk_mode is PkMode.CQ_ID_ONLY or deterministic_cq_id:
        group_key = pk_mode is not PkMode.CQ_ID_ONLY
        return tuple(
            replace(c, primary_key=c.name == CQ_ID or (group_key and c.name == CQ_SYNC_GROUP_ID))
            for c in columns
        )
    return tuple(columns)


def deletes_stale(mode: WriteMode) -> bool:
    """Only ``overwrite-delete-stale`` deletes rows a sync did not write again."""
    return mode is WriteMode.OVERWRITE_DELETE_STALE


def kept_from_delete_stale(
    tables: Iterable[Table], *, keeps_state: bool, refreshed: Collection[str] = ()
) -> set[str]:
    """Tables never delete-staled because their rows are not re-fetched in full each sync:
    with a state backend, incremental tables (unless refreshed in full this run) and every
    descendant of such a table. ``tables`` come parents first, as sources send them."""
    kept: set[str] = set()
    if not keeps_state:
        return kept  # without state an incremental table is read in full every time
    for t in tables:
        if (t.is_incremental and t.name not in refreshed) or (
            t.parent is not None and t.parent in kept
        ):
            kept.add(t.name)
    return kept


def lineage_failed(name: str, tables: dict[str, Table], failed: Collection[str]) -> bool:
    """The table or one of its ancestors failed: rows it did not re-fetch are not stale."""
    current: str | None = name
    while current is not None:
        if current in failed:
            return True
        table = tables.get(current)
        current = table.parent if table is not None else None
    return False


@dataclass(frozen=True)
class StaleStep:
    """One table of a delete-stale pass: delete its stale rows, or keep them after errors."""

    table: str
    delete: bool


def delete_stale_plan(
    tables: dict[str, Table], kept: Collection[str], failed: Collection[str]
) -> list[StaleStep]:
    """The tables of a clean run in order, for a destination that deletes stale rows: those
    kept by state are left out; those whose lineage failed are kept and reported."""
    return [
        StaleStep(name, delete=not lineage_failed(name, tables, failed))
        for name in tables
        if name not in kept
    ]


def state_upserts(mode: WriteMode, supported: Collection[WriteMode]) -> bool:
    """A state table upserts by key unless its destination appends: then every change is a
    new row and the highest version wins."""
    return mode is not WriteMode.APPEND and WriteMode.OVERWRITE in supported
