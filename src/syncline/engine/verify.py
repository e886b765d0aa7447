"""``syncline state verify``: does each destination still hold the rows a cursor covers?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from syncline.config.models import DestinationSpec, SourceSpec
from syncline.engine.cursors import holds_rows
from syncline.engine.plugins import Plugins, selected_tables
from syncline.engine.transform import DestinationTransform
from syncline.schema.table import Table
from syncline.state.keys import table_of


@dataclass(frozen=True)
class CursorCheck:
    key: str
    value: str
    table: str | None
    destination: str | None
    problem: str | None  # None: the destination holds rows of the table

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_cursors(
    spec: SourceSpec, cursors: dict[str, str], plugins: Plugins
) -> list[CursorCheck]:
    """One check per cursor and destination of the source."""
    source = plugins.sources[spec.name].create_source()
    try:
        selected = selected_tables(spec, source.tables())
    finally:
        source.close()
    by_name = {t.name: t for t in selected if t.is_incremental}
    checks: list[CursorCheck] = []
    present: dict[tuple[str, str], bool] = {}
    for key, value in cursors.items():
        owner = table_of(key, by_name)
        table = by_name[owner] if owner is not None else None
        if table is None:
            orphan = "no selected incremental table of this source owns this key"
            checks.append(CursorCheck(key, value, None, None, orphan))
            continue
        for dest in spec.destinations:
            if (dest, table.name) not in present:
                present[(dest, table.name)] = _holds(plugins, spec, dest, table)
            problem = None if present[(dest, table.name)] else "table is missing or empty"
            checks.append(CursorCheck(key, value, table.name, dest, problem))
    return checks


def _holds(plugins: Plugins, spec: SourceSpec, dest: str, table: Table) -> bool:
    resolved = plugins.destinations[dest]
    dspec: DestinationSpec = resolved.configured.spec
    shape = DestinationTransform(
        sync_time=datetime.now(UTC),
        source_name=spec.name,
        write_mode=dspec.write_mode,
        pk_mode=dspec.pk_mode,
        sync_group_id="",
        deterministic_cq_id=spec.deterministic_cq_id,
    ).table(table)
    plugin = resolved.create_destination()
    try:
        return holds_rows(plugin, shape)
    finally:
        plugin.close()
