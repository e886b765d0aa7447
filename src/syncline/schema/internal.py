"""Internal columns (``_cq_*``) and how ``_cq_id`` is computed."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import replace

import numpy as np
import pyarrow as pa

from syncline.schema.table import Column, Table
from syncline.schema.types import UUID

CQ_ID = "_cq_id"
CQ_PARENT_ID = "_cq_parent_id"
CQ_SYNC_TIME = "_cq_sync_time"
CQ_SOURCE_NAME = "_cq_source_name"
CQ_SYNC_GROUP_ID = "_cq_sync_group_id"

SYNC_TIME_TYPE = pa.timestamp("us", tz="UTC")

# Names the engine and sources fill in themselves: a source column with one of them is
# delivered under another name (``unreserved_name``) rather than be overwritten.
RESERVED_NAMES = frozenset({CQ_ID, CQ_PARENT_ID, CQ_SYNC_TIME, CQ_SOURCE_NAME, CQ_SYNC_GROUP_ID})


def unreserved_name(name: str) -> str:
    """``_cq_id`` -> ``_cq_id_source``: how a source column with an internal name arrives."""
    return f"{name}_source"


def free_name(base: str, taken: Collection[str]) -> str:
    """``base``, or ``base_2``, ``base_3``...: a helper column name no real column has."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def with_cq_id_columns(table: Table) -> Table:
    """Prepend _cq_id and _cq_parent_id to a table and its relations (as sources do).

    _cq_id is the primary key only when the table declares no key of its own.
    """
    own = tuple(c for c in table.columns if c.name not in (CQ_ID, CQ_PARENT_ID))
    has_pk = any(c.primary_key for c in own)
    has_components = any(c.primary_key_component for c in own)
    cq_id = Column(
        CQ_ID,
        UUID,
        description="Internal row id",
        primary_key=not has_pk or has_components,
        not_null=True,
        unique=True,
    )
    if has_components:
        own = tuple(replace(c, primary_key=False) for c in own)
    parent_id = Column(CQ_PARENT_ID, UUID, description="Internal id of the parent row")
    relations = tuple(with_cq_id_columns(r) for r in table.relations)
    return replace(table, columns=(cq_id, parent_id, *own), relations=relations)


def cq_id_as_only_pk(table: Table) -> Table:
    """``_cq_id`` as the only key, as CloudQuery's SDK migrates tables with deterministic ids."""
    cols = tuple(replace(c, primary_key=(c.name == CQ_ID)) for c in table.columns)
    return replace(table, columns=cols)


def random_uuids(n: int) -> pa.Array:
    """n random version-4 UUIDs, built in bulk."""
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), n, [None, pa.py_buffer(raw.tobytes())]
    )
    return pa.ExtensionArray.from_storage(UUID, storage)


def deterministic_uuids(record: pa.RecordBatch, key_columns: list[str]) -> pa.Array:
    """CloudQuery's deterministic _cq_id of every row (see ``schema.cq_id``)."""
    from syncline.schema.cq_id import deterministic_cq_ids  # pyarrow.compute: slow to import

    return deterministic_cq_ids(record, key_columns)


def cq_id_key_columns(table: Table, deterministic: bool) -> list[str]:
    """Columns that determine _cq_id, or [] for a random _cq_id."""
    components = [c.name for c in table.columns if c.primary_key_component]
    if components:
        return components
    if not deterministic:
        return []
    return [c.name for c in table.columns if c.primary_key and c.name != CQ_ID]
