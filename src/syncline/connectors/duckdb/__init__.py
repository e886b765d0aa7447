"""Built-in DuckDB destination (``path: cloudquery/duckdb``)."""

from syncline.connectors.duckdb.plugin import DuckDBDestination, DuckDBSpec
from syncline.plugin.contracts import DestinationInfo

PLUGIN = DestinationInfo(
    path="cloudquery/duckdb",
    spec_model=DuckDBSpec,
    factory=DuckDBDestination,
    description="An embedded DuckDB database file.",
    multi_process_writes=False,  # DuckDB lets one process open a file for writing
)

__all__ = ["PLUGIN", "DuckDBDestination", "DuckDBSpec"]
