"""The transformers of one destination, applied in order between the engine and it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pyarrow as pa

from syncline.plugin.contracts import TransformerPlugin
from syncline.plugin.errors import SynclineError
from syncline.schema.arrow import from_arrow_schema, to_arrow_schema
from syncline.schema.table import Table


class TransformerError(SynclineError):
    """A transformer failed: the sync fails and no cursor moves past the rows it held."""


class TransformerChain:
    def __init__(self, destination: str, transformers: Sequence[tuple[str, TransformerPlugin]]):
        self.destination = destination
        self.transformers = list(transformers)

    def __bool__(self) -> bool:
        return bool(self.transformers)

    def _fail(self, name: str, what: str, e: Exception) -> TransformerError:
        return TransformerError(
            f"transformer {name} (destination {self.destination}) failed to {what}: {e}"
        )

    def table(self, table: Table) -> Table:
        """The table as the destination will see it (name, columns, keys)."""
        if not self.transformers:
            return table
        schema = to_arrow_schema(table)
        for name, t in self.transformers:
            try:
                schema = t.transform_schema(schema)
            except SynclineError:
                raise
            except Exception as e:
                raise self._fail(name, f"transform the schema of {table.name}", e) from e
        out = from_arrow_schema(schema)
        # Relations are the engine's bookkeeping, not part of what a transformer changes.
        return replace(out, relations=table.relations)

    def record(self, record: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
        """The record through every transformer, with exactly the destination's ``schema``."""
        for name, t in self.transformers:
            try:
                record = t.transform(record)
            except SynclineError:
                raise
            except Exception as e:
                raise self._fail(name, "transform a record", e) from e
        if record.schema.names != schema.names or record.schema.types != schema.types:
            raise TransformerError(
                f"transformers of destination {self.destination} returned records that do not "
                f"match the schema they announced for {from_arrow_schema(schema).name}"
            )
        return pa.RecordBatch.from_arrays(record.columns, schema=schema)

    def close(self) -> None:
        for _, t in self.transformers:
            t.close()
