"""Start ``registry: local`` plugin processes ahead of use, so several start at once.

Each plugin process spends most of a second importing before it serves; started one after
another, a sync with a source, a destination and a state backend waits for each in turn.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

from syncline.grpc.process import PluginProcess

_lock = threading.Lock()
_started: dict[tuple[str, str, str], list[PluginProcess]] = {}


def start_ahead(wanted: Iterable[tuple[str, str, str]]) -> None:
    """Spawn processes, without waiting for them to serve, until one waits for each
    ``(kind, name, path)`` of ``wanted`` (a repeated entry: one process each)."""
    for key, count in Counter(wanted).items():
        with _lock:
            missing = count - len(_started.get(key, []))
        for _ in range(missing):
            kind, name, path = key
            try:
                process = PluginProcess(kind, name, path)
            except Exception:  # reported with its reason when the plugin is created
                break
            with _lock:
                _started.setdefault(key, []).append(process)


def take(kind: str, name: str, path: str) -> PluginProcess | None:
    """A process started ahead for this plugin, if one is waiting."""
    with _lock:
        waiting = _started.get((kind, name, path))
        return waiting.pop(0) if waiting else None


def stop_unused() -> None:
    """Stop processes started ahead that nothing took (e.g. a sync failed first)."""
    with _lock:
        unused = [p for waiting in _started.values() for p in waiting]
        _started.clear()
    for process in unused:
        process.stop()
