"""A Dagster asset that runs a syncline sync and records per-table counts as metadata.

    pip install dagster
    dagster asset materialize -f examples/dagster_asset.py --select synced_tables

``sync_with_counts`` holds the logic and needs no Dagster: it is what the asset calls.
"""

import threading
from typing import Any

import syncline

CONFIG = "examples/quickstart.yml"


def sync_with_counts(
    config: syncline.ConfigInput, stop: threading.Event | None = None
) -> dict[str, Any]:
    """Run the sync; return metadata: rows per table, errors, cursors committed.

    A failed source raises ``syncline.SyncFailedError``, which fails the asset run; table
    errors that did not stop the sync are reported in the metadata and also fail it.
    """
    result = syncline.sync(config, stop=stop)
    metadata: dict[str, Any] = {"rows": result.rows, "errors": result.errors}
    for source in result.sources:
        for table in source.tables.values():
            metadata[f"{source.name}.{table.name}.rows"] = table.rows
        metadata[f"{source.name}.cursors"] = dict(source.cursors)
    if not result.ok:
        raise RuntimeError(f"sync completed with {result.errors} table error(s): {metadata}")
    return metadata


try:
    import dagster as dg
except ImportError:  # the function above works without Dagster
    dg = None

if dg is not None:

    @dg.asset
    def synced_tables(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        metadata = sync_with_counts(CONFIG)
        context.log.info(f"synced {metadata['rows']} rows")
        return dg.MaterializeResult(metadata=metadata)

    defs = dg.Definitions(assets=[synced_tables])
