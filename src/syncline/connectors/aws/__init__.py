"""Built-in AWS source (``path: cloudquery/aws``)."""

from syncline.connectors.aws.plugin import AwsSource, AwsSpec
from syncline.plugin.contracts import SourceInfo

PLUGIN = SourceInfo(
    path="cloudquery/aws",
    spec_model=AwsSpec,
    factory=AwsSource,
    description="AWS resources: tables generated from botocore's service models.",
)

__all__ = ["PLUGIN", "AwsSource", "AwsSpec"]
