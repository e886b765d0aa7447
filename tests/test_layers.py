"""The layer rules of the design, checked on the source tree: imports go downward only, and a
connector never imports another connector, grpc or the engine."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import syncline

# Lower number = lower layer. A module may import a package of a strictly lower layer (or its
# own package). Messages carry schema tables, so schema sits just below them.
LAYERS: dict[str, int] = {
    "schema": 0,
    "messages": 1,
    "config": 1,
    "plugin": 2,
    "state": 3,
    "writers": 3,
    "scheduler": 3,
    "grpc": 4,
    "connectors": 4,
    "transformers": 5,
    "engine": 6,
    "testing": 6,  # test harnesses: may use connectors, never the engine
    "executors": 7,
    "api": 8,
    "cli": 9,
    "__main__": 10,
}
# Crash points are a leaf that any layer may call (they do nothing unless a test asks).
LEAVES = {"syncline.testing.crashpoints"}


def _package(parts: list[str]) -> str:
    """``connectors.sqlite`` for a connector, the top-level package otherwise."""
    if parts[0] == "connectors" and len(parts) > 1:
        return "connectors." + parts[1]
    return parts[0]


def _layer(package: str) -> int | None:
    return LAYERS.get(package.split(".")[0])


def violations(root: Path) -> list[str]:
    """Every import under ``root`` (the syncline package folder) that breaks a layer rule."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("").parts
        if rel[-1] == "__init__":
            rel = rel[:-1]
        if not rel:
            continue
        here = _package(list(rel))
        if _layer(here) is None:
            found.append(f"{path.relative_to(root)}: package {here!r} has no layer")
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from syncline.testing import crashpoints`` imports the leaf module itself
                leaves = [f"{node.module}.{a.name}" for a in node.names]
                modules = [node.module] if not set(leaves) <= LEAVES else []
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] != "syncline" or len(parts) < 2 or module in LEAVES:
                    continue
                target = _package(parts[1:])
                if target == here:
                    continue
                where = f"{path.relative_to(root)}:{node.lineno}: {module}"
                if here.startswith("connectors.") and target.startswith("connectors."):
                    found.append(f"{where} (a connector imports another connector)")
                    continue
                low, high = _layer(target), _layer(here)
                if low is None or high is None or low >= high:
                    found.append(f"{where} ({here} may not import {target})")
    return found


def test_the_source_tree_keeps_the_layer_rules():
    assert violations(Path(syncline.__file__).parent) == []


def test_a_connector_importing_the_engine_is_caught(tmp_path):
    tree = tmp_path / "syncline"
    shutil.copytree(
        Path(syncline.__file__).parent, tree, ignore=shutil.ignore_patterns("__pycache__")
    )
    plugin = tree / "connectors" / "sqlite" / "plugin.py"
    plugin.write_text(plugin.read_text() + "\nfrom syncline.engine.sync import run_sync\n")
    other = tree / "connectors" / "duckdb" / "plugin.py"
    other.write_text(other.read_text() + "\nimport syncline.connectors.sqlite\n")
    found = violations(tree)
    assert len(found) == 2, found
    assert found[0].startswith("connectors/duckdb/plugin.py:")
    assert found[0].endswith("(a connector imports another connector)")
    assert found[1].startswith("connectors/sqlite/plugin.py:")
    assert found[1].endswith("syncline.engine.sync (connectors.sqlite may not import engine)")


def test_no_module_is_over_400_lines():
    root = Path(syncline.__file__).parent
    long = {
        str(p.relative_to(root)): n
        for p in root.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_a_source_run_stays_small():
    """The engine's run of one source delegates: destinations, commits, the message stream and
    the state backend each have their own module."""
    path = Path(syncline.__file__).parent / "engine" / "sync.py"
    (run,) = [
        node
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ClassDef) and node.name == "_SourceRun"
    ]
    assert run.end_lineno is not None
    assert run.end_lineno - run.lineno + 1 < 150
