"""The destinations of one source run: each stores the source's tables in its own shape
(internal columns, write-mode keys, transformers) through its batching writer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from syncline.config.models import DestinationSpec, MigrateMode
from syncline.engine import events
from syncline.engine.plugins import ResolvedPlugin
from syncline.engine.summary_table import SUMMARY, summary_record
from syncline.engine.transform import DestinationTransform, render_sync_group_id
from syncline.engine.write_modes import StaleStep, deletes_stale
from syncline.plugin.contracts import DestinationInfo, TransformerInfo
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.table import Table
from syncline.transformers.chain import TransformerChain
from syncline.writers.batch import BatchWriter

log = logging.getLogger("syncline.engine")


class Output:
    """One destination: the shape of each table migrated so far and the writer rows go to."""

    def __init__(
        self,
        name: str,
        spec: DestinationSpec,
        writer: BatchWriter,
        transform: DestinationTransform,
        chain: TransformerChain,
    ) -> None:
        self.name = name
        self.spec = spec
        self.writer = writer
        self.transform = transform
        self.chain = chain
        self.forced = spec.migrate_mode is MigrateMode.FORCED
        # Per source table: the table as stored and its Arrow schema; with transformers,
        # also the schema records have before them.
        self._stored: dict[str, tuple[Table, pa.Schema]] = {}
        self._staged: dict[str, pa.Schema] = {}

    def shape(self, table: Table) -> Table:
        """A source table as this destination stores it."""
        out = self.transform.table(table)
        return self.chain.table(out) if self.chain else out

    def stored(self, table_name: str) -> Table:
        return self._stored[table_name][0]

    def migrate(self, table: Table, *, migrate: bool) -> None:
        """Learn the table's shape; create or change it unless ``migrate`` is False."""
        out = self.transform.table(table)
        if self.chain:
            self._staged[table.name] = to_arrow_schema(out)
            out = self.chain.table(out)
        self._stored[table.name] = (out, to_arrow_schema(out))
        if migrate:  # queued: many tables share one catalog read
            self.writer.queue_migration([out], self.forced)

    def insert(self, table_name: str, record: pa.RecordBatch, seq: int) -> None:
        out, schema = self._stored[table_name]
        if self.chain:
            staged = self.transform.record(self._staged[table_name], record)
            shaped = self.chain.record(staged, schema)
        else:
            shaped = self.transform.record(schema, record)
        self.writer.insert(out, shaped, seq)

    def delete_record(self, table_name: str, where: Mapping[str, Any]) -> None:
        self.writer.delete_record(self.stored(table_name), where)

    def delete_stale(self, plan: list[StaleStep], source_name: str, sync_time: datetime) -> None:
        if not deletes_stale(self.spec.write_mode):
            return
        names: list[str] = []
        for step in plan:
            if not step.delete:
                log.warning(
                    "table %s had errors: keeping rows of earlier syncs (no delete-stale)",
                    step.table,
                )
                continue
            names.append(step.table)
        # One call per destination: its deletes share a transaction.
        outs = [self.stored(name) for name in names]
        counts = self.writer.delete_stale_tables(outs, source_name, sync_time)
        for name, deleted in zip(names, counts, strict=True):
            events.stale_deleted(source_name, self.name, name, deleted)

    def send_summary(self, summary: dict[str, object], seq: int, *, migrate: bool) -> None:
        """The sync summary row, for a destination with ``send_sync_summary``; with
        ``sync_summary_retention``, the source's older summary rows are deleted after it."""
        out = self.transform.table(SUMMARY)
        if migrate:
            self.writer.migrate([out], self.forced)
        record = summary_record(summary)
        self.writer.insert(out, self.transform.record(to_arrow_schema(out), record), seq)
        self.writer.flush()
        if self.spec.sync_summary_retention:
            t = self.transform
            kept_from = t.sync_time - timedelta(seconds=self.spec.sync_summary_retention)
            self.writer.delete_stale(out, t.source_name, kept_from)


def open_output(
    name: str,
    resolved: ResolvedPlugin[DestinationInfo],
    transformers: Mapping[str, ResolvedPlugin[TransformerInfo]],
    *,
    source_name: str,
    sync_time: datetime,
    invocation_id: str,
    deterministic_cq_id: bool,
    closers: list[Callable[[], None]],
) -> Output:
    """Create the destination and its transformers; what to close goes on ``closers``."""
    plugin = resolved.create_destination(invocation_id)
    closers.append(plugin.close)
    spec: DestinationSpec = resolved.configured.spec
    transform = DestinationTransform(
        sync_time=sync_time,
        source_name=source_name,
        write_mode=spec.write_mode,
        pk_mode=spec.pk_mode,
        sync_group_id=render_sync_group_id(spec.sync_group_id, sync_time, invocation_id),
        deterministic_cq_id=deterministic_cq_id,
    )
    opened = []
    for tname in spec.transformers:
        transformer = transformers[tname].create_transformer(invocation_id)
        closers.append(transformer.close)
        opened.append((tname, transformer))
    writer = BatchWriter(name, plugin, plugin.limits)
    closers.append(writer.close)
    return Output(name, spec, writer, transform, TransformerChain(name, opened))
