"""Built-in BigQuery destination (``path: cloudquery/bigquery``), append only."""

from syncline.config.models import WriteMode
from syncline.connectors.bigquery.plugin import BigQueryDestination
from syncline.connectors.bigquery.spec import BigQuerySpec
from syncline.plugin.contracts import DestinationInfo

PLUGIN = DestinationInfo(
    path="cloudquery/bigquery",
    spec_model=BigQuerySpec,
    factory=BigQueryDestination,
    write_modes=frozenset({WriteMode.APPEND}),
    description="Google BigQuery tables (append only): streaming inserts and Parquet loads.",
)

__all__ = ["PLUGIN", "BigQueryDestination", "BigQuerySpec"]
