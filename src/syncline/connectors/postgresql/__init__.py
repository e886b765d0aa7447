"""Built-in PostgreSQL destination (``path: cloudquery/postgresql``)."""

from syncline.connectors.postgresql.plugin import PostgreSQLDestination, PostgreSQLSpec
from syncline.plugin.contracts import DestinationInfo

PLUGIN = DestinationInfo(
    path="cloudquery/postgresql",
    spec_model=PostgreSQLSpec,
    factory=PostgreSQLDestination,
    description="A PostgreSQL database.",
)

__all__ = ["PLUGIN", "PostgreSQLDestination", "PostgreSQLSpec"]
