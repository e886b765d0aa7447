"""Narrow a config to some of its sources, or to other table patterns, for one run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from syncline.config.errors import ConfigError
from syncline.config.reader import Config


def select_sources(
    config: Config, sources: Sequence[str] | None = None, tables: Sequence[str] | None = None
) -> Config:
    """Only ``sources`` (by name); ``tables`` replaces each one's ``tables`` patterns."""
    chosen = config.sources
    if sources is not None:
        names = [s.spec.name for s in config.sources]
        for name in sources:
            if name not in names:
                raise ConfigError(
                    f"unknown source {name} (the config has {', '.join(names)})",
                    file=", ".join(config.files),
                )
        chosen = [s for s in config.sources if s.spec.name in sources]
    if tables is not None:
        chosen = [
            replace(s, spec=s.spec.model_copy(update={"tables": list(tables)})) for s in chosen
        ]
    return replace(config, sources=chosen)
