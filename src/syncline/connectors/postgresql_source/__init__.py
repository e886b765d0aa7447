"""Built-in PostgreSQL source (``path: cloudquery/postgresql`` in a ``kind: source`` document)."""

from syncline.connectors.postgresql_source.plugin import PostgreSQLSource, PostgreSQLSourceSpec
from syncline.plugin.contracts import SourceInfo

PLUGIN = SourceInfo(
    path="cloudquery/postgresql",
    spec_model=PostgreSQLSourceSpec,
    factory=PostgreSQLSource,
    description="Tables of a PostgreSQL database, optionally incremental by a cursor column.",
)

__all__ = ["PLUGIN", "PostgreSQLSource", "PostgreSQLSourceSpec"]
