"""Plan schema migrations once for every SQL destination: what to create, recreate or alter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from syncline.plugin.errors import MigrationError
from syncline.schema.diff import ChangeKind, ColumnShape, column_changes, is_safe
from syncline.schema.table import Table


class Action(Enum):
    CREATE = "create"
    RECREATE = "recreate"  # forced: drop, then create
    ALTER = "alter"  # add the new nullable columns; columns left behind stay
    NONE = "none"


@dataclass(frozen=True)
class Plan:
    table: Table
    action: Action
    add: list[ColumnShape] = field(default_factory=list)


def plan_migrations(
    destination: str,
    tables: Sequence[Table],
    wanted: Callable[[Table], list[ColumnShape]],
    existing: Callable[[Table], list[ColumnShape]],
    force: bool,
) -> list[Plan]:
    """Raise MigrationError naming every table and column that needs ``migrate_mode: forced``."""
    plans: list[Plan] = []
    breaking: list[str] = []
    for table in tables:
        have = existing(table)
        want = wanted(table)
        if not have:
            plans.append(Plan(table, Action.CREATE))
            continue
        changes = column_changes(want, have)
        unsafe = [c for c in changes if not is_safe(c, want, have)]
        if unsafe and not force:
            breaking.extend(c.describe(table.name) for c in unsafe)
        elif unsafe:
            plans.append(Plan(table, Action.RECREATE))
        else:
            added = {c.column for c in changes if c.kind is ChangeKind.ADD}
            add = [s for s in want if s.name in added]
            plans.append(Plan(table, Action.ALTER if add else Action.NONE, add))
    if breaking:
        raise MigrationError(
            f"destination {destination}: can't migrate tables automatically, migrate manually "
            "or consider using 'migrate_mode: forced'. Non auto migratable changes:\n  "
            + "\n  ".join(breaking)
        )
    return plans
