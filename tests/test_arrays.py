"""Arrays made from buffers hold what pyarrow's own conversion of the same values holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest

from syncline.schema.arrays import (
    from_numpy,
    int_values,
    one_value,
    timestamp_scalar,
    utf8_array,
    utf8_scalar,
    validity,
)


@pytest.mark.parametrize(
    "values",
    [
        np.array([True, False, True, True, False, False, True, False, True]),
        np.arange(-3, 70, dtype=np.int8),
        np.array([0, 2**63 - 1, -(2**63)], dtype=np.int64),
        np.array([0, 2**64 - 1], dtype=np.uint64),
        np.array([0.5, -1e300, np.inf]),
        np.arange(10, dtype=np.int64)[::3],  # not contiguous
    ],
)
def test_numpy_values_match_pyarrows_conversion(values):
    assert from_numpy(values).equals(pa.array(values))


def test_a_numpy_array_takes_a_type_of_the_same_width():
    days = from_numpy(np.array([0, 19_000], dtype=np.int32), pa.date32())
    assert days.equals(pa.array([0, 19_000], pa.int32()).view(pa.date32()))


@pytest.mark.parametrize("texts", [["a", None, "héllo", ""], [], [None], ["x"] * 9 + [None]])
def test_text_matches_pyarrows_conversion(texts):
    assert utf8_array(texts).equals(pa.array(texts, pa.utf8()))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 1, 13, 5, 7, 123456, tzinfo=timezone(timedelta(hours=2))),
        datetime(1960, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2000, 2, 29, 23, 59, 59, 999999),  # naive: UTC
    ],
)
def test_timestamps_match_pyarrows_conversion(value, unit):
    type_ = pa.timestamp(unit, tz="UTC")
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    expected = (
        pa.scalar(aware, type_) if unit != "s" else pa.scalar(aware.replace(microsecond=0), type_)
    )
    assert timestamp_scalar(value, type_) == expected


def test_storage_integers_and_validity_of_a_sliced_array_with_nulls():
    arr = pa.array([5, None, -7, None, 9, 11], pa.int64()).slice(1, 4)
    valid = validity(arr)
    assert valid.tolist() == [False, True, False, True]
    assert int_values(arr)[valid].tolist() == [-7, 9]
    assert validity(pa.array([1, 2], pa.int32())).tolist() == [True, True]


@pytest.mark.parametrize(
    "value",
    [None, "x", b"\x00a", True, 5, -(2**63), 1.5, datetime(2026, 3, 1, 12, 30, 5, 123456)],
)
def test_statement_parameters_match_pyarrows_conversion(value):
    assert one_value(value).equals(pa.array([value]))


def test_a_text_scalar():
    assert utf8_scalar("héllo") == pa.scalar("héllo", pa.utf8())
