"""Built-in file destination (``path: cloudquery/file``): Parquet, CSV or JSON lines."""

from syncline.config.models import WriteMode
from syncline.connectors.file.plugin import FileDestination, FileSpec
from syncline.plugin.contracts import DestinationInfo

PLUGIN = DestinationInfo(
    path="cloudquery/file",
    spec_model=FileSpec,
    factory=FileDestination,
    write_modes=frozenset({WriteMode.APPEND}),
    description="Files in a local folder, S3 or GCS (append only).",
)

__all__ = ["PLUGIN", "FileDestination", "FileSpec"]
