"""The public Python API: sync, validate, migrate, tables and state, with typed results."""

from syncline.api.inputs import ConfigInput, load_config
from syncline.api.results import (
    NoProgress,
    Progress,
    SourceSyncResult,
    SyncFailedError,
    SyncResult,
    TableResult,
)
from syncline.api.run import migrate, reset_state, show_state, sync, tables, validate

__all__ = [
    "ConfigInput",
    "NoProgress",
    "Progress",
    "SourceSyncResult",
    "SyncFailedError",
    "SyncResult",
    "TableResult",
    "load_config",
    "migrate",
    "reset_state",
    "show_state",
    "sync",
    "tables",
    "validate",
]
