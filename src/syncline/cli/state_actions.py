"""``syncline state verify|history|rollback``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from syncline.config.models import SourceSpec
from syncline.engine.plugins import Plugins
from syncline.engine.verify import verify_cursors
from syncline.state.client import CursorStore


def add_state_actions(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    command: Callable[
        [argparse._SubParsersAction[argparse.ArgumentParser], str, str], argparse.ArgumentParser
    ],
) -> None:
    """``command(sub, name, help)`` makes a subcommand parser with the global flags."""
    verify = command(
        sub, "verify", "Check that each destination still holds the rows every cursor covers."
    )
    verify.add_argument("paths", nargs="+", metavar="PATH")
    verify.add_argument("--source", action="append", default=[], help="only this source")


def verify(spec: SourceSpec, client: CursorStore, plugins: Plugins) -> int:
    """Print one line per cursor and destination; the number of mismatches."""
    checks = verify_cursors(spec, client.items(), plugins)
    if not checks:
        print(f"source {spec.name}: no cursors")
    for c in checks:
        where = f"{c.table} on {c.destination}" if c.destination else "-"
        verdict = "ok" if c.ok else f"MISMATCH: {c.problem}"
        print(f"source {spec.name}: {c.key} = {c.value}: {where}: {verdict}")
    return sum(not c.ok for c in checks)
