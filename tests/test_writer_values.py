"""Helpers of the writers checked against pyarrow's own operations."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from syncline.schema.types import UUID
from syncline.writers.values import has_duplicate_keys

_A, _B = uuid.uuid4().bytes, uuid.uuid4().bytes


def _uuids(values: list[bytes | None]) -> pa.Array:
    return pa.ExtensionArray.from_storage(UUID, pa.array(values, pa.binary(16)))


@pytest.mark.parametrize(
    "columns",
    [
        {"k": [1, 2, 3]},
        {"k": [1, 2, 1]},
        {"k": [1, None, 2]},
        {"k": [1, None, None]},
        {"k": ["x", "y", "x"], "n": [1, 2, 3]},
        {"k": ["x", "y", "x"], "n": [1, 2, 1]},
        {"k": ["x", None, "x"], "n": [None, 2, None]},
        {"k": [1.5, 2.5, 1.5]},
        {"k": [datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 0, 1)]},
        {"k": [Decimal("1.10"), Decimal("1.10")]},
        {"k": pa.chunked_array([[1, 2], [3, 1]])},
        {"k": pa.chunked_array([[1, 2], [3, 4]])},
        {"k": _uuids([_A, _B])},
        {"k": _uuids([_A, _A])},
        {"k": pa.array([], pa.int64())},
        {"k": [7]},
    ],
)
def test_duplicate_keys_as_a_group_by_counts_them(columns):
    data = pa.table(columns)
    keys = data.column_names
    storage = pa.table(
        [
            c.cast(c.type.storage_type) if isinstance(c.type, pa.BaseExtensionType) else c
            for c in data.columns
        ],
        names=keys,
    )
    groups = storage.group_by(keys).aggregate([]).num_rows
    assert has_duplicate_keys(data, keys) == (groups < data.num_rows)
