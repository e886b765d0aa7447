"""``syncline migrate``: create or update destination tables without syncing."""

from __future__ import annotations

from datetime import UTC, datetime

from syncline.config.models import DestinationSpec, MigrateMode
from syncline.config.reader import Config
from syncline.engine.plugins import Plugins, check_selection, selected_tables
from syncline.engine.transform import DestinationTransform, render_sync_group_id
from syncline.transformers.chain import TransformerChain


def run_migrate(config: Config, plugins: Plugins, invocation_id: str = "") -> None:
    now = datetime.now(UTC)
    for src in config.sources:
        spec = src.spec
        source = plugins.sources[spec.name].create_source(invocation_id, no_connection=True)
        try:
            tables = source.tables()
            check_selection(plugins.sources[spec.name], tables)
            selected = selected_tables(spec, tables)
        finally:
            source.close()
        for dest_name in spec.destinations:
            resolved = plugins.destinations[dest_name]
            dspec: DestinationSpec = resolved.configured.spec
            transform = DestinationTransform(
                sync_time=now,
                source_name=spec.name,
                write_mode=dspec.write_mode,
                pk_mode=dspec.pk_mode,
                sync_group_id=render_sync_group_id(dspec.sync_group_id, now, invocation_id),
                deterministic_cq_id=spec.deterministic_cq_id,
            )
            chain = TransformerChain(
                dest_name,
                [
                    (t, plugins.transformers[t].create_transformer(invocation_id))
                    for t in dspec.transformers
                ],
            )
            try:
                tables = [chain.table(transform.table(t)) for t in selected]
            finally:
                chain.close()
            plugin = resolved.create_destination(invocation_id)
            try:
                plugin.migrate_tables(tables, dspec.migrate_mode is MigrateMode.FORCED)
            finally:
                plugin.close()
