"""Built-in ``test`` source (``path: cloudquery/test``)."""

from syncline.connectors.test_source.plugin import TestSource, TestSourceSpec
from syncline.plugin.contracts import SourceInfo

PLUGIN = SourceInfo(
    path="cloudquery/test",
    spec_model=TestSourceSpec,
    factory=TestSource,
    description="Deterministic synthetic data for trying and testing pipelines.",
)

__all__ = ["PLUGIN", "TestSource", "TestSourceSpec"]
