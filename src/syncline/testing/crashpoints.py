"""Named crash points for crash-recovery tests: a no-op unless SYNCLINE_CRASHPOINT names one."""

from __future__ import annotations

import os


def crash(name: str) -> None:
    if os.environ.get("SYNCLINE_CRASHPOINT") == name:
        os._exit(137)
