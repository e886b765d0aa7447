"""Schema differences between a wanted table and what a destination already has."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ChangeKind(Enum):
    ADD = "add column"
    REMOVE = "remove column"
    UPDATE = "change column"


@dataclass(frozen=True)
class ColumnShape:
    """How a destination sees a column: its native type name and constraints."""

    name: str
    type: str
    not_null: bool
    primary_key: bool


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    column: str
    detail: str = ""

    def describe(self, table: str) -> str:
        text = f'table "{table}": {self.kind.value} "{self.column}"'
        return f"{text} ({self.detail})" if self.detail else text


def column_changes(wanted: list[ColumnShape], existing: list[ColumnShape]) -> list[Change]:
    have = {c.name: c for c in existing}
    want = {c.name: c for c in wanted}
    changes: list[Change] = []
    for c in wanted:
        old = have.get(c.name)
        if old is None:
            changes.append(Change(ChangeKind.ADD, c.name, _constraints(c)))
            continue
        diffs = []
        if old.type.lower() != c.type.lower():
            diffs.append(f"type {old.type} -> {c.type}")
        if old.not_null != c.not_null:
            diffs.append(f"not null {old.not_null} -> {c.not_null}")
        if old.primary_key != c.primary_key:
            diffs.append(f"primary key {old.primary_key} -> {c.primary_key}")
        if diffs:
            changes.append(Change(ChangeKind.UPDATE, c.name, ", ".join(diffs)))
    for c in existing:
        if c.name not in want:
            changes.append(Change(ChangeKind.REMOVE, c.name, _constraints(c)))
    return changes


def _constraints(c: ColumnShape) -> str:
    parts = [c.type]
    if c.primary_key:
        parts.append("primary key")
    if c.not_null:
        parts.append("not null")
    return " ".join(parts)


def is_safe(change: Change, wanted: list[ColumnShape], existing: list[ColumnShape]) -> bool:
    """Adding a nullable non-key column is safe; so is leaving a nullable non-key one behind."""
    if change.kind is ChangeKind.ADD:
        c = next(c for c in wanted if c.name == change.column)
        return not c.not_null and not c.primary_key
    if change.kind is ChangeKind.REMOVE:
        c = next(c for c in existing if c.name == change.column)
        return not c.not_null and not c.primary_key
    return False
