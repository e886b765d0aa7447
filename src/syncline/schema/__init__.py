"""Table/Column model, Arrow conversion, internal columns, selection and schema diffs."""

from syncline.schema.table import Column, Table, flatten
from syncline.schema.types import JSON, UUID

__all__ = ["JSON", "UUID", "Column", "Table", "flatten"]
