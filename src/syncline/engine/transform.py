"""Per-destination schema and record changes: internal columns, keys by write mode."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property

import pyarrow as pa

from syncline.config.models import PkMode, WriteMode
from syncline.engine.write_modes import keyed_columns
from syncline.schema.arrays import timestamp_scalar, utf8_scalar
from syncline.schema.internal import (
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
        cols = keyed_columns(
            [*internal, *own],
            self.write_mode,
            self.pk_mode,
            deterministic_cq_id=self.deterministic_cq_id,
        )
        return replace(t, columns=cols)

    @cached_property
    def _internal_values(self) -> dict[str, pa.Scalar]:
        values = {
            CQ_SYNC_TIME: timestamp_scalar(self.sync_time, SYNC_TIME_TYPE),
            CQ_SOURCE_NAME: utf8_scalar(self.source_name),
        }
        if self.sync_group_id:
            values[CQ_SYNC_GROUP_ID] = utf8_scalar(self.sync_group_id)
        return values

    def record(self, schema: pa.Schema, record: pa.RecordBatch) -> pa.RecordBatch:
        n = record.num_rows
        internal = {name: pa.repeat(value, n) for name, value in self._internal_values.items()}
        arrays = []
        for f in schema:
            if f.name in internal:
                arrays.append(internal[f.name])
            else:
                arrays.append(record.column(record.schema.get_field_index(f.name)))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
