"""Built-in file destination (``path: cloudquery/file``): Parquet, CSV or JSON lines."""

from syncline.connectors.file.plugin import FileDestination, FileSpec
from syncline.plugin.contracts import PluginInfo

PLUGIN = PluginInfo(
    kind="destination",
    path="cloudquery/file",
    spec_model=FileSpec,
    factory=FileDestination,
    description="Files in a local folder, S3 or GCS (append only).",
)

__all__ = ["PLUGIN", "FileDestination", "FileSpec"]
