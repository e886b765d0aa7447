"""The shipped destination conformance suite, against a real SQLite file, a real DuckDB file
and the real PostgreSQL server: each must support every case."""

from __future__ import annotations

import pytest
from destinations import SqlDestination, dest  # noqa: F401  (the parametrised fixture)

from syncline.testing.destination_suite import CASES, Harness, Skip


@pytest.fixture
def harness(dest: SqlDestination):  # noqa: F811
    h = Harness(dest.plugin)
    yield h
    h.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_conformance(case, harness, dest):  # noqa: F811
    try:
        case(harness)
    except Skip as e:
        pytest.fail(f"{dest.label} must support {e}")
