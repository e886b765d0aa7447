"""YAML config files -> validated specs."""

from syncline.config.errors import ConfigError, ConfigErrors
from syncline.config.models import (
    BackendOptions,
    DestinationSpec,
    MigrateMode,
    PkMode,
    Registry,
    SourceSpec,
    WriteMode,
)
from syncline.config.reader import Config, Configured, read_config

__all__ = [
    "BackendOptions",
    "Config",
    "ConfigError",
    "ConfigErrors",
    "Configured",
    "DestinationSpec",
    "MigrateMode",
    "PkMode",
    "Registry",
    "SourceSpec",
    "WriteMode",
    "read_config",
]
