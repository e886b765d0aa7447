"""YAML config files -> validated specs."""

from syncline.config.errors import ConfigError, ConfigErrors
from syncline.config.models import (
    BackendOptions,
    DestinationSpec,
    MigrateMode,
    PkMode,
    Registry,
    SourceSpec,
    TransformerSpec,
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
    "TransformerSpec",
    "WriteMode",
    "read_config",
]
