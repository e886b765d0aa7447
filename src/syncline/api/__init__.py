"""The public Python API: sync, validate, migrate, tables and state, with typed results."""

from typing import TYPE_CHECKING, Any

from syncline.api.inputs import ConfigInput, load_config
from syncline.api.results import (
    ConnectionResult,
    NoProgress,
    Progress,
    SourceSyncResult,
    SyncFailedError,
    SyncResult,
    TableResult,
)
from syncline.api.run import check_connections, migrate, sync, tables, validate

if TYPE_CHECKING:
    from syncline.api.state import (
        SourceChecks,
        SourceHistory,
        SourceRollback,
        SourceState,
        read_state,
        reset_state,
        rollback_state,
        show_state,
        state_history,
        verify_state,
    )

# The state commands are imported on first use: a sync does not need them.
_STATE = {
    "SourceChecks",
    "SourceHistory",
    "SourceRollback",
    "SourceState",
    "read_state",
    "reset_state",
    "rollback_state",
    "show_state",
    "state_history",
    "verify_state",
}

__all__ = [
    "ConfigInput",
    "ConnectionResult",
    "NoProgress",
    "Progress",
    "SourceChecks",
    "SourceHistory",
    "SourceRollback",
    "SourceState",
    "SourceSyncResult",
    "SyncFailedError",
    "SyncResult",
    "TableResult",
    "check_connections",
    "load_config",
    "migrate",
    "read_state",
    "reset_state",
    "rollback_state",
    "show_state",
    "state_history",
    "sync",
    "tables",
    "validate",
    "verify_state",
]


def __getattr__(name: str) -> Any:
    if name in _STATE:
        from syncline.api import state

        return getattr(state, name)
    raise AttributeError(f"module 'syncline.api' has no attribute {name!r}")
