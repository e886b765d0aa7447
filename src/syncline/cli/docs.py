"""``syncline tables``: table docs as JSON or Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncline.schema.table import Table, flatten
from syncline.schema.types import type_name


def table_json(t: Table) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": t.name,
        "title": t.title or t.name.replace("_", " ").title(),
        "description": t.description,
        "columns": [],
        "relations": [table_json(r) for r in t.relations],
    }
    for c in t.columns:
        col: dict[str, Any] = {"name": c.name, "type": type_name(c.type)}
        if c.description:
            col["description"] = c.description
        if c.primary_key:
            col["is_primary_key"] = True
        if c.incremental_key:
            col["is_incremental_key"] = True
        if c.not_null:
            col["not_null"] = True
        if c.unique:
            col["unique"] = True
        out["columns"].append(col)
    if t.is_incremental:
        out["is_incremental"] = True
    return out


def table_markdown(t: Table) -> str:
    lines = [f"# Table: {t.name}", ""]
    if t.description:
        lines += [t.description, ""]
    keys = t.primary_keys
    if keys:
        lines += [f"The primary key for this table is **{', '.join(keys)}**.", ""]
    if t.is_incremental:
        inc = [c.name for c in t.columns if c.incremental_key]
        lines += [
            "It supports incremental syncs" + (f" based on **{', '.join(inc)}**." if inc else "."),
            "",
        ]
    if t.parent:
        lines += [f"This table depends on [{t.parent}]({t.parent}.md).", ""]
    if t.relations:
        lines += ["The following tables depend on it:"]
        lines += [f"  - [{r.name}]({r.name}.md)" for r in t.relations]
        lines.append("")
    lines += ["## Columns", "", "| Name | Type | Description |", "| --- | --- | --- |"]
    for c in t.columns:
        name = f"{c.name} (PK)" if c.primary_key else c.name
        if c.incremental_key:
            name += " (Incremental Key)"
        lines.append(f"| {name} | `{type_name(c.type)}` | {c.description} |")
    return "\n".join(lines) + "\n"


def write_docs(source_name: str, tables: list[Table], output_dir: str, fmt: str) -> Path:
    target = Path(output_dir) / source_name
    target.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path = target / "__tables.json"
        path.write_text(json.dumps([table_json(t) for t in tables], indent=2) + "\n")
        return path
    index = ["# Source Plugin: " + source_name, "", "## Tables", ""]

    def add(ts: tuple[Table, ...] | list[Table], depth: int) -> None:
        for t in ts:
            index.append(
                f"{'  ' * depth}- [{t.name}]({t.name}.md)"
                + (" (Incremental)" if t.is_incremental else "")
            )
            add(t.relations, depth + 1)

    add(tables, 0)
    (target / "README.md").write_text("\n".join(index) + "\n")
    for t in flatten(tables):
        (target / f"{t.name}.md").write_text(table_markdown(t))
    return target / "README.md"
