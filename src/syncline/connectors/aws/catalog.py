"""The generated tables: ``catalog.json`` (written by ``generate.py``) as Tables and specs.

The catalogue is data, read once; nothing here looks at botocore's models, so the tables
are the same whatever botocore is installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from syncline.schema.table import Column, Table
from syncline.schema.types import JSON

CATALOG = Path(__file__).with_name("catalog.json")
TS = pa.timestamp("us", tz="UTC")
ARROW_TYPES: dict[str, pa.DataType] = {
    "utf8": pa.utf8(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": TS,
    "float64": pa.float64(),
    "binary": pa.binary(),
    "json": JSON,
}
GLOBAL_REGION = "aws-global"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    member: str  # the resource's member it is read from; "" for columns the source fills
    type: str


@dataclass(frozen=True)
class TableSpec:
    """How one generated table is read: which call, which collection, which columns."""

    name: str
    service: str
    operation: str
    result_key: str
    paginated: bool
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    unnest: str | None = None
    global_region: str | None = None
    arn_format: str | None = None
    parent: str | None = None
    # required input member -> the parent row's column that fills it
    bind: dict[str, str] = field(default_factory=dict)

    @property
    def description(self) -> str:
        where = " (global: read once per account)" if self.global_region else ""
        return f"{self.service} {self.operation}: each item of {self.result_key}{where}."

    def table(self, relations: tuple[Table, ...] = ()) -> Table:
        key = set(self.primary_key)
        cols = tuple(
            Column(
                c.name,
                ARROW_TYPES[c.type],
                _describe(c),
                primary_key=c.name in key,
                not_null=c.name in key,
            )
            for c in self.columns
        )
        return Table(
            self.name, cols, description=self.description, relations=relations, parent=self.parent
        )


def _describe(c: ColumnSpec) -> str:
    if c.name == "account_id":
        return "AWS account id"
    if c.name == "region":
        return "AWS region"
    return f"From {c.member}" if c.member else ""


@cache
def specs() -> dict[str, TableSpec]:
    """Every generated table by name."""
    raw: list[dict[str, Any]] = json.loads(CATALOG.read_text())
    out: dict[str, TableSpec] = {}
    for t in raw:
        out[t["name"]] = TableSpec(
            name=t["name"],
            service=t["service"],
            operation=t["operation"],
            result_key=t["result_key"],
            paginated=t["paginated"],
            columns=tuple(ColumnSpec(*c) for c in t["columns"]),
            primary_key=tuple(t["primary_key"]),
            params=t["params"],
            unnest=t["unnest"],
            global_region=t["global_region"],
            arn_format=t["arn_format"],
            parent=t.get("parent"),
            bind=t.get("bind", {}),
        )
    return out
