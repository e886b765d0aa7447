"""The shipped destination conformance suite, against a real SQLite file."""

from __future__ import annotations

import pytest

from syncline.connectors.sqlite import SQLiteDestination, SQLiteSpec
from syncline.plugin.contracts import PluginContext
from syncline.testing.destination_suite import CASES, Harness, Skip


@pytest.fixture
def harness(tmp_path):
    h = Harness(
        lambda: SQLiteDestination(
            SQLiteSpec(connection_string=str(tmp_path / "suite.sqlite")), PluginContext("sqlite")
        )
    )
    yield h
    h.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_sqlite_conformance(case, harness):
    try:
        case(harness)
    except Skip as e:
        pytest.fail(f"SQLite must support {e}")
