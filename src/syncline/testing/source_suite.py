"""The checks every source passes, built-in or third-party: run a source twice (the second
time from the cursors of the first) and check its tables and its message stream.

- tables valid: unique names, columns, primary keys and incremental keys that exist, a
  child naming its parent;
- records match their schema: each Insert has its table's Arrow schema, not-null columns hold
  no null;
- parents before children: every table's MigrateTable before any data and after its
  parent's, and a child row's ``_cq_parent_id`` is the ``_cq_id`` of a parent row sent before;
- checkpoints after their rows: a Checkpoint's key belongs to a selected incremental table
  that has sent rows before it;
- cursors monotone: a key's values never go back, within a run and from one run to the next.

Use: ``check_source(plugin, SyncOptions(tables=["*"]))``; a problem raises ``SourceSuiteError``
listing every problem found.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from syncline.messages import Checkpoint, Insert, MigrateTable, SyncError, SyncMessage, TableDone
from syncline.plugin.contracts import SourcePlugin, SyncOptions
from syncline.schema.arrow import to_arrow_schema
from syncline.schema.internal import CQ_ID, CQ_PARENT_ID
from syncline.schema.table import Table, flatten
from syncline.state.keys import table_of


class SourceSuiteError(AssertionError):
    pass


def cursor_order(value: str) -> Any:
    """What a cursor's text compares by: a number, a time (ISO 8601, also a JSON object's
    ``time``), else the text itself."""
    text = value
    if value.startswith("{"):
        text = str(json.loads(value).get("time", value))
    for parse in (int, float, datetime.fromisoformat, date.fromisoformat):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


class DictState:
    """Committed cursors held in memory (what the engine would have committed)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, key: str) -> str | None:
        return self.values.get(key)


@dataclass
class SourceRun:
    """What one sync sent: rows per table and the last value of each cursor key."""

    rows: dict[str, int] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)
    checkpoints: int = 0


def check_tables(tables: Iterable[Table]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    roots = list(tables)
    for top in roots:
        if top.parent is not None:
            problems.append(f"table {top.name}: a top-level table with parent {top.parent}")
    for t in flatten(roots):
        if t.name in seen:
            problems.append(f"table {t.name}: defined twice")
        seen.add(t.name)
        names = t.column_names
        if not t.name or not names:
            problems.append(f"table {t.name!r}: needs a name and columns")
        if len(set(names)) != len(names):
            problems.append(f"table {t.name}: a column name repeats")
        if t.is_incremental and not any(c.incremental_key for c in t.columns):
            problems.append(f"table {t.name}: incremental without an incremental key column")
        if any(c.incremental_key for c in t.columns) and not t.is_incremental:
            problems.append(f"table {t.name}: an incremental key on a table not incremental")
        for child in t.relations:
            if child.parent != t.name:
                problems.append(f"table {child.name}: a relation of {t.name} names {child.parent}")
    return problems


def check_stream(
    tables: Iterable[Table],
    messages: Iterable[SyncMessage],
    before: Mapping[str, str],
    order: Callable[[str], Any] = cursor_order,
) -> tuple[SourceRun, list[str]]:
    """Check one sync's messages; ``before`` is the state the sync started from."""
    by_name = {t.name: t for t in flatten(list(tables))}
    schemas = {n: to_arrow_schema(t) for n, t in by_name.items()}
    incremental = [n for n, t in by_name.items() if t.is_incremental]
    migrated: list[str] = []
    ids: dict[str, set[Any]] = {}
    run, problems = SourceRun(), list[str]()
    data_started = False
    done: set[str] = set()

    def problem(text: str) -> None:
        if len(problems) < 50:
            problems.append(text)

    for msg in messages:
        if isinstance(msg, MigrateTable):
            name = msg.table.name
            if data_started:
                problem(f"table {name}: MigrateTable after data")
            parent = by_name[name].parent if name in by_name else None
            if parent is not None and parent not in migrated:
                problem(f"table {name}: MigrateTable before its parent {parent}'s")
            migrated.append(name)
            continue
        data_started = True
        if isinstance(msg, Insert):
            _check_insert(msg, by_name, schemas, migrated, ids, problem)
            run.rows[msg.table_name] = run.rows.get(msg.table_name, 0) + msg.record.num_rows
        elif isinstance(msg, Checkpoint):
            run.checkpoints += 1
            owner = table_of(msg.key, incremental)
            if owner is None:
                problem(f"checkpoint {msg.key}: no selected incremental table owns the key")
            elif not run.rows.get(owner):
                problem(f"checkpoint {msg.key}: before any row of table {owner}")
            last = run.cursors.get(msg.key, before.get(msg.key))
            if last is not None and order(msg.value) < order(last):
                problem(f"checkpoint {msg.key}: cursor went back from {last} to {msg.value}")
            run.cursors[msg.key] = msg.value
        elif isinstance(msg, SyncError):
            problem(f"table {msg.table_name}: {msg.error}")
        elif isinstance(msg, TableDone):
            done.add(msg.table_name)
    missing = [n for n in migrated if n not in done]
    if missing:
        problem(f"no TableDone for {', '.join(missing)}")
    return run, problems


def _check_insert(
    msg: Insert,
    by_name: Mapping[str, Table],
    schemas: Mapping[str, Any],
    migrated: list[str],
    ids: dict[str, set[Any]],
    problem: Callable[[str], None],
) -> None:
    name, record = msg.table_name, msg.record
    table = by_name.get(name)
    if table is None or name not in migrated:
        problem(f"table {name}: rows of a table that was not migrated")
        return
    expected = schemas[name]
    if record.schema.names != expected.names or any(
        a.type != b.type for a, b in zip(record.schema, expected, strict=True)
    ):
        problem(f"table {name}: record schema {record.schema} is not the table's {expected}")
        return
    for c in table.columns:
        if c.not_null and record.column(c.name).null_count:
            problem(f"table {name}: nulls in not-null column {c.name}")
    if CQ_ID in expected.names:
        ids.setdefault(name, set()).update(record.column(CQ_ID).to_pylist())
    if table.parent is not None and CQ_PARENT_ID in expected.names:
        known = ids.get(table.parent, set())
        orphans = [p for p in record.column(CQ_PARENT_ID).to_pylist() if p not in known]
        if orphans:
            problem(f"table {name}: {len(orphans)} row(s) whose parent row was not sent before")


def check_source(
    source: SourcePlugin,
    options: SyncOptions,
    *,
    runs: int = 2,
    order: Callable[[str], Any] = cursor_order,
    expect_rows: bool = True,
) -> list[SourceRun]:
    """Run ``source`` ``runs`` times, each from the cursors the runs before committed."""
    problems = check_tables(source.tables())
    state = DictState()
    results: list[SourceRun] = []
    for i in range(runs):
        messages = list(source.sync(options, state))
        selected = [m.table for m in messages if isinstance(m, MigrateTable)]
        run, found = check_stream(selected, messages, state.values, order)
        problems += [f"run {i + 1}: {p}" for p in found]
        if i == 0 and expect_rows and not run.rows:
            problems.append("run 1: no rows at all (is the fixture empty?)")
        state.values.update(run.cursors)
        results.append(run)
    if problems:
        raise SourceSuiteError("\n".join(problems))
    return results
