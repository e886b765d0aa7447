"""Built-in BigQuery destination (``path: cloudquery/bigquery``), append only."""

from syncline.connectors.bigquery.plugin import BigQueryDestination
from syncline.connectors.bigquery.spec import BigQuerySpec
from syncline.plugin.contracts import PluginInfo

PLUGIN = PluginInfo(
    kind="destination",
    path="cloudquery/bigquery",
    spec_model=BigQuerySpec,
    factory=BigQueryDestination,
    description="Google BigQuery tables (append only): streaming inserts and Parquet loads.",
)

__all__ = ["PLUGIN", "BigQueryDestination", "BigQuerySpec"]
