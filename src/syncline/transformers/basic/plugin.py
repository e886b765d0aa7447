"""The basic transformer: its transformations in order, each on the tables its globs match."""

from __future__ import annotations

import pyarrow as pa

from syncline.schema.arrow import MD_TABLE_NAME
from syncline.schema.selection import glob_match
from syncline.transformers.basic.columns import warm_up
from syncline.transformers.basic.spec import BasicSpec, Kind, Transformation
from syncline.transformers.basic.steps import Step, build


def _table_name(schema: pa.Schema) -> str:
    name = (schema.metadata or {}).get(MD_TABLE_NAME)
    if not name:
        raise ValueError("table name not found in the record's metadata")
    return str(name.decode())


_HASHING = {Kind.OBFUSCATE_COLUMNS, Kind.OBFUSCATE_SENSITIVE_COLUMNS, Kind.OBFUSCATE_COLUMNS_EXCEPT}


class _Rule:
    def __init__(self, t: Transformation, index: int) -> None:
        self.patterns = t.tables
        self.step: Step = build(t)
        self.label = f"transformation {index} ({t.kind.value})"
        self._matches: dict[str, bool] = {}

    def matches(self, schema: pa.Schema) -> bool:
        # Later rules see the names earlier rules gave, as in CloudQuery.
        name = _table_name(schema)
        hit = self._matches.get(name)
        if hit is None:
            hit = self._matches[name] = any(glob_match(p, name) for p in self.patterns)
        return hit

    def apply(self, record: pa.RecordBatch) -> pa.RecordBatch:
        try:
            return self.step(record)
        except ValueError as e:
            raise ValueError(f"{self.label} on table {_table_name(record.schema)}: {e}") from e


class BasicTransformer:
    def __init__(self, spec: BasicSpec) -> None:
        self.rules = [_Rule(t, i) for i, t in enumerate(spec.transformations, start=1)]
        if any(t.kind in _HASHING for t in spec.transformations):
            # Served over gRPC, a slow first answer is costly: CloudQuery's CLI stops waiting
            # for a transformer's output about a second after the source ends.
            warm_up()

    def transform_schema(self, schema: pa.Schema) -> pa.Schema:
        empty = pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
        return self.transform(empty).schema

    def transform(self, record: pa.RecordBatch) -> pa.RecordBatch:
        for rule in self.rules:
            if rule.matches(record.schema):
                record = rule.apply(record)
        return record

    def close(self) -> None:
        pass
