"""YAML config files -> validated specs.

The names below are imported on first use: the loader (YAML, variables) is light, while the
models bring pydantic, which a plugin process or a first look at the documents need not load.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "ConfigError": "errors",
    "ConfigErrors": "errors",
    "BackendOptions": "models",
    "DestinationSpec": "models",
    "MigrateMode": "models",
    "PkMode": "models",
    "Registry": "models",
    "SourceSpec": "models",
    "TransformerSpec": "models",
    "WriteMode": "models",
    "Config": "reader",
    "Configured": "reader",
    "read_config": "reader",
}

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


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        from importlib import import_module

        return getattr(import_module(f"syncline.config.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'syncline.config' has no attribute {name!r}")
