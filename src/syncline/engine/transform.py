"""Per-destination schema and record changes: internal columns and write-mode key rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import pyarrow as pa

from syncline.config.models import PkMode, WriteMode
from syncline.schema.internal import (
    CQ_ID,
    CQ_SOURCE_NAME,
    CQ_SYNC_GROUP_ID,
    CQ_SYNC_TIME,
    SYNC_TIME_TYPE,
)
from syncline.schema.table import Column, Table


def render_sync_group_id(template: str, sync_time: datetime, sync_id: str) -> str:
    values = {
        "YEAR": f"{sync_time.year:04d}",
        "MONTH": f"{sync_time.month:02d}",
        "DAY": f"{sync_time.day:02d}",
        "HOUR": f"{sync_time.hour:02d}",
        "MINUTE": f"{sync_time.minute:02d}",
        "SYNC_ID": sync_id,
    }
    out = template
    for k, v in values.items():
        out = out.replace("{{" + k + "}}", v)
    return out


@dataclass(frozen=True)
class DestinationTransform:
    sync_time: datetime
    source_name: str
    write_mode: WriteMode
    pk_mode: PkMode = PkMode.DEFAULT
    sync_group_id: str = ""  # already rendered
    deterministic_cq_id: bool = False

    def table(self, t: Table) -> Table:
        own = [
            c for c in t.columns if c.name not in (CQ_SYNC_TIME, CQ_SOURCE_NAME, CQ_SYNC_GROUP_ID)
        ]
        internal = [
            Column(CQ_SYNC_TIME, SYNC_TIME_TYPE, "Time of the sync that wrote the row"),
            Column(CQ_SOURCE_NAME, pa.utf8(), "Source that wrote the row"),
        ]
        if self.sync_group_id:
            internal.append(Column(CQ_SYNC_GROUP_ID, pa.utf8(), "Sync group", primary_key=True))
        cols = [*internal, *own]
        if self.write_mode is WriteMode.APPEND:
            cols = [replace(c, primary_key=False, unique=False) for c in cols]
        elif self.pk_mode is PkMode.CQ_ID_ONLY or self.deterministic_cq_id:
            cols = [replace(c, primary_key=(c.name == CQ_ID)) for c in cols]
            if self.sync_group_id and self.pk_mode is not PkMode.CQ_ID_ONLY:
                cols = [
                    replace(c, primary_key=True) if c.name == CQ_SYNC_GROUP_ID else c for c in cols
                ]
        return replace(t, columns=tuple(cols))

    def record(self, schema: pa.Schema, record: pa.RecordBatch) -> pa.RecordBatch:
        n = record.num_rows
        internal: dict[str, pa.Array] = {
            CQ_SYNC_TIME: pa.repeat(pa.scalar(self.sync_time, SYNC_TIME_TYPE), n),
            CQ_SOURCE_NAME: pa.repeat(pa.scalar(self.source_name, pa.utf8()), n),
        }
        if self.sync_group_id:
            internal[CQ_SYNC_GROUP_ID] = pa.repeat(pa.scalar(self.sync_group_id, pa.utf8()), n)
        arrays = []
        for f in schema:
            if f.name in internal:
                arrays.append(internal[f.name])
            else:
                arrays.append(record.column(record.schema.get_field_index(f.name)))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
