"""The shipped destination conformance suite, against a real DuckDB file."""

from __future__ import annotations

import pytest

from syncline.connectors.duckdb import DuckDBDestination, DuckDBSpec
from syncline.plugin.contracts import PluginContext
from syncline.testing.destination_suite import CASES, Harness, Skip


@pytest.fixture
def harness(tmp_path):
    h = Harness(
        lambda: DuckDBDestination(
            DuckDBSpec(connection_string=str(tmp_path / "suite.duckdb")), PluginContext("duckdb")
        )
    )
    yield h
    h.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_duckdb_conformance(case, harness):
    try:
        case(harness)
    except Skip as e:
        pytest.fail(f"DuckDB must support {e}")
