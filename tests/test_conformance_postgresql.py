"""The shipped destination conformance suite, against the real PostgreSQL server."""

from __future__ import annotations

import pytest

from syncline.connectors.postgresql import PostgreSQLDestination, PostgreSQLSpec
from syncline.plugin.contracts import PluginContext
from syncline.testing.destination_suite import CASES, Harness, Skip

pytestmark = pytest.mark.pg


@pytest.fixture
def harness(pg_url):
    h = Harness(
        lambda: PostgreSQLDestination(
            PostgreSQLSpec(connection_string=pg_url), PluginContext("postgresql")
        )
    )
    yield h
    h.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_postgresql_conformance(case, harness):
    try:
        case(harness)
    except Skip as e:
        pytest.fail(f"PostgreSQL must support {e}")
