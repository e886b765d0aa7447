"""The cursor guard of a sharded run: once, for the whole config, before any shard starts.

Say a table was emptied by hand while its cursors stayed in the state table. Guarded in
each shard, every shard would check the table, and the first to find it empty would reset
the cursors of every client, its own and the other shards' (shards run by hand do that, and
each reads the cursors again after its check so as not to miss another's reset). Guarded
here first, the table is checked and its cursors reset once, and every shard reads state
that is already right.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from syncline.config.models import SourceSpec
from syncline.config.reader import Config
from syncline.engine.backend import open_state
from syncline.engine.cursors import GuardTarget, guard_cursors
from syncline.engine.outputs import open_output
from syncline.engine.plugins import Plugins, selected_tables, start_source
from syncline.state.client import CursorStore

log = logging.getLogger("syncline.engine")


def guard_before_shards(config: Config, plugins: Plugins, invocation_id: str) -> list[str]:
    """Open (and so create) each source's state table and reset the cursors of tables no
    destination holds rows of, as a single-process sync does at its start. Tables are
    migrated already. Returns the tables whose cursors were reset."""
    reset: list[str] = []
    for spec in config.source_specs():
        state = open_state(spec, plugins, invocation_id)
        if state is None:
            continue
        try:
            if state.items():  # nothing to guard (e.g. a first sync): no source to start
                reset += _guard_source(spec, plugins, state, invocation_id)
        finally:
            state.close()
    return reset


def _guard_source(
    spec: SourceSpec, plugins: Plugins, state: CursorStore, invocation_id: str
) -> list[str]:
    closers: list[Callable[[], None]] = []
    try:
        source = start_source(plugins.sources[spec.name], invocation_id)
        closers.append(source.close)
        now = datetime.now(UTC)
        outputs = [
            open_output(
                name,
                plugins.destinations[name],
                plugins.transformers,
                source_name=spec.name,
                sync_time=now,
                invocation_id=invocation_id,
                deterministic_cq_id=spec.deterministic_cq_id,
                closers=closers,
            )
            for name in spec.destinations
        ]
        targets = [GuardTarget(o.name, o.writer, o.shape, o.forced) for o in outputs]
        tables = selected_tables(spec, source.tables())
        return guard_cursors(state, tables, targets, migrate=False)
    finally:
        for close in reversed(closers):
            try:
                close()
            except Exception as e:  # closing must not hide the guard's outcome
                log.warning("error while closing a plugin: %s", e)
