"""What the API accepts as a config: paths, YAML text or Python dicts, all read the same way."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import yaml

from syncline.config.errors import ConfigError
from syncline.config.loader import expand_paths
from syncline.config.reader import Config, read_config
from syncline.plugin.errors import SynclineError

# One config, as a user holds it: a file or folder, several of them, YAML text, or the
# documents a file holds as dicts ({"kind": "source", "spec": {...}}); or a config read
# already by ``load_config``.
_One: TypeAlias = str | os.PathLike[str] | Mapping[str, Any]
ConfigInput: TypeAlias = Config | _One | Sequence[_One]


def load_config(config: ConfigInput, *, relaxed: bool = False) -> Config:
    """Read and validate ``config``; errors are the CLI's, naming file, document and key.

    A string with a line break or starting with ``kind:`` is YAML text (named ``<string>``
    in errors); any other string is a path. Dicts are named ``<dict N>``. The result can be
    passed to every other function in place of the config it was read from.
    """
    return read_input(config, relaxed=relaxed)


def read_input(config: ConfigInput, *, relaxed: bool = False, defer_env: bool = False) -> Config:
    if isinstance(config, Config):
        return config
    paths, texts = _split(config)
    return read_config(paths, relaxed=relaxed, texts=texts, defer_env=defer_env)


def config_texts(config: ConfigInput) -> list[tuple[str, str]]:
    """The config as (name, YAML) pairs, files read now: what a shard elsewhere receives."""
    if isinstance(config, Config):
        raise SynclineError(
            "a sharded sync reads its config in every worker: pass paths, YAML or dicts, "
            "not a loaded Config"
        )
    paths, texts = _split(config)
    read: list[tuple[str, str]] = []
    for f in expand_paths(paths) if paths else []:
        try:
            read.append((str(f), f.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read file: {e}", file=str(f)) from e
    return read + texts


def _split(config: _One | Sequence[_One]) -> tuple[list[str], list[tuple[str, str]]]:
    paths: list[str] = []
    texts: list[tuple[str, str]] = []
    items = [config] if isinstance(config, str | os.PathLike | Mapping) else list(config)
    for i, item in enumerate(items, start=1):
        if isinstance(item, Mapping):
            texts.append((f"<dict {i}>", yaml.safe_dump(dict(item), sort_keys=False)))
        elif isinstance(item, str) and _is_yaml_text(item):
            texts.append(("<string>" if len(items) == 1 else f"<string {i}>", item))
        else:
            paths.append(os.fspath(item))
    return paths, texts


def _is_yaml_text(value: str) -> bool:
    return "\n" in value or value.lstrip().startswith("kind:")
