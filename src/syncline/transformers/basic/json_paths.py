"""Paths inside JSON columns (``tags.foo.bar.0``, ``items.#.name``, ``a\\.b``), as CloudQuery's
basic transformer reads them: ``.`` separates keys, ``\\`` escapes the next character, a
number indexes an array and ``#`` stands for every element of one.

JSON values are parsed per row: these paths are the one part of the basic transformer that
is not vectorised. Values are written back compact, with keys in their original order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Path = tuple[str, ...]
_MISSING = object()


def split_path(text: str) -> Path:
    segments: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
    segments.append("".join(current))
    return tuple(segments)


def split_column(entry: str) -> tuple[str, Path | None]:
    """``col`` -> (col, None); ``col.a.b`` -> (col, (a, b)): the column ends at the first dot."""
    head, dot, rest = entry.partition(".")
    return (head, split_path(rest)) if dot else (head, None)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse(raw: bytes) -> Any:
    """The parsed document, or _MISSING when the value is not valid JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return _MISSING


def _locate(node: Any, path: Path) -> list[tuple[Any, Any]]:
    """(container, key) of every value the path names."""
    if not path:
        return []
    seg, rest = path[0], path[1:]
    keys: list[Any] = []
    if isinstance(node, dict):
        keys = [seg] if seg in node else []
    elif isinstance(node, list):
        if seg == "#":
            keys = list(range(len(node)))
        elif seg.isdigit() and int(seg) < len(node):
            keys = [int(seg)]
    if not rest:
        return [(node, k) for k in keys]
    return [hit for k in keys for hit in _locate(node[k], rest)]


def update_values(
    raw: bytes, paths: list[Path], change: Callable[[Path, list[Any]], Any | None]
) -> bytes:
    """Replace the values each path names with ``change(path, values)`` (None: no change)."""
    doc = parse(raw)
    if doc is _MISSING:
        return raw
    changed = False
    for path in paths:
        hits = _locate(doc, path)
        if not hits:
            continue
        new = change(path, [c[k] for c, k in hits])
        if new is None:
            continue
        for (container, key), value in zip(hits, new, strict=True):
            container[key] = value
        changed = True
    return dumps(doc).encode() if changed else raw


def delete_paths(raw: bytes, paths: list[Path]) -> bytes:
    doc = parse(raw)
    if doc is _MISSING:
        return raw
    changed = False
    for path in paths:
        hits = _locate(doc, path)
        # Highest index first, so earlier deletions do not shift later ones.
        for container, key in sorted(hits, key=lambda h: -h[1] if isinstance(h[1], int) else 0):
            del container[key]
            changed = True
    return dumps(doc).encode() if changed else raw


# -- allowlists (obfuscate_columns_except) ----------------------------------------------------


def _matches(pattern: Path, path: Path) -> bool:
    """``pattern`` matches the first len(pattern) segments of ``path`` (``#`` = any index)."""
    for p, s in zip(pattern, path, strict=False):
        if p == "#":
            if not s.isdigit():
                return False
        elif p != s:
            return False
    return True


def kept(path: Path, patterns: list[Path]) -> bool:
    return any(len(p) <= len(path) and _matches(p, path) for p in patterns)


def leads_to_kept(path: Path, patterns: list[Path]) -> bool:
    return any(len(p) > len(path) and _matches(p, path) for p in patterns)


def _children(node: Any) -> list[tuple[Any, str]]:
    if isinstance(node, dict):
        return [(k, str(k)) for k in node]
    return [(i, str(i)) for i in range(len(node))]


def allow_only(
    node: Any,
    patterns: list[Path],
    mode: str,
    marker: Callable[[Any], str],
    path: Path = (),
) -> Any:
    """The node with everything outside ``patterns`` dropped, collapsed or redacted.

    Returns _MISSING for a node that ``drop`` removes entirely.
    """
    if kept(path, patterns):
        return node
    container = isinstance(node, dict | list)
    if container and (leads_to_kept(path, patterns) or mode == "redact"):
        out: Any = {} if isinstance(node, dict) else []
        for key, seg in _children(node):
            value = allow_only(node[key], patterns, mode, marker, (*path, seg))
            if value is _MISSING:
                continue
            if isinstance(out, dict):
                out[key] = value
            else:
                out.append(value)
        if mode == "drop" and not out and path:
            return _MISSING
        return out
    if node is None:
        return _MISSING if mode == "drop" else None
    if mode == "drop":
        return _MISSING
    return marker(node)


def allow_only_text(
    raw: bytes, patterns: list[Path], mode: str, marker: Callable[[Any], str]
) -> bytes | None:
    """One JSON value through ``allow_only``; None when it is not valid JSON."""
    doc = parse(raw)
    if doc is _MISSING:
        return None
    out = allow_only(doc, patterns, mode, marker)
    return dumps(None if out is _MISSING else out).encode()
