"""Plan schema migrations once for every SQL destination: what to create, recreate or alter."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import pyarrow as pa

from syncline.plugin.errors import MigrationError
from syncline.schema.diff import ChangeKind, ColumnShape, column_changes, is_safe
from syncline.schema.table import Table
from syncline.writers.sql import column_list, quote_ident

log = logging.getLogger("syncline.writers")


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
    for plan in plans:
        _log_plan(destination, plan)
    return plans


_CHANGES = {
    Action.CREATE: "created",
    Action.RECREATE: "dropped and recreated (migrate_mode: forced)",
    Action.ALTER: "added columns",
    Action.NONE: "unchanged",
}


def _log_plan(destination: str, plan: Plan) -> None:
    extra: dict[str, object] = {
        "destination": destination,
        "table": plan.table.name,
        "change": _CHANGES[plan.action],
    }
    if plan.add:
        extra["columns"] = [c.name for c in plan.add]
    log.info("migrating table", extra=extra)


TypeOf = Callable[[pa.DataType], str]


def shapes(table: Table, type_of: TypeOf) -> list[ColumnShape]:
    """How a destination with this type mapping wants the table's columns (keys are NOT NULL)."""
    return [
        ColumnShape(c.name, type_of(c.type), c.not_null or c.primary_key, c.primary_key)
        for c in table.columns
    ]


def create_table_sql(
    qualified: str, table: Table, type_of: TypeOf, pk_constraint: str | None = None
) -> str:
    cols = [
        f"{quote_ident(s.name)} {s.type}{' NOT NULL' if s.not_null else ''}"
        for s in shapes(table, type_of)
    ]
    if table.primary_keys:
        named = f"CONSTRAINT {quote_ident(pk_constraint)} " if pk_constraint else ""
        cols.append(f"{named}PRIMARY KEY ({column_list(table.primary_keys)})")
    return f"CREATE TABLE IF NOT EXISTS {qualified} ({', '.join(cols)})"


def plan_statements(
    plan: Plan,
    qualified: str,
    type_of: TypeOf,
    *,
    pk_constraint: str | None = None,
    add_if_not_exists: bool = False,
) -> list[str]:
    """The SQL that carries out one plan."""
    out: list[str] = []
    if plan.action is Action.RECREATE:
        out.append(f"DROP TABLE IF EXISTS {qualified}")
    if plan.action in (Action.CREATE, Action.RECREATE):
        out.append(create_table_sql(qualified, plan.table, type_of, pk_constraint))
    guard = "IF NOT EXISTS " if add_if_not_exists else ""
    for col in plan.add:
        out.append(f"ALTER TABLE {qualified} ADD COLUMN {guard}{quote_ident(col.name)} {col.type}")
    return out


def check_case_collisions(
    destination: str, product: str, tables: Sequence[Table], existing: Iterable[str]
) -> None:
    """Refuse two tables whose names differ only in case where ``product`` ignores case:
    they would be one table, overwriting each other's rows."""
    seen = {name.lower(): name for name in existing}
    for t in tables:
        other = seen.get(t.name.lower())
        if other is not None and other != t.name:
            raise MigrationError(
                f"destination {destination}: tables {other} and {t.name} differ only in "
                f"case, and {product} table names ignore case: they would overwrite each "
                "other's rows (skip or rename one)"
            )
        seen[t.name.lower()] = t.name
