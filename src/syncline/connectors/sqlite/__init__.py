"""Built-in SQLite destination (``path: cloudquery/sqlite``)."""

from syncline.connectors.sqlite.plugin import SQLiteDestination, SQLiteSpec
from syncline.plugin.contracts import DestinationInfo

PLUGIN = DestinationInfo(
    path="cloudquery/sqlite",
    spec_model=SQLiteSpec,
    factory=SQLiteDestination,
    description="An embedded SQLite database file.",
)

__all__ = ["PLUGIN", "SQLiteDestination", "SQLiteSpec"]
