"""Durations in config: a number of seconds or a Go-style string such as ``20s`` or ``1m30s``."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a Go-style duration string such as ``20s``, ``1m30s``, ``500ms``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 20s")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        pos, total = 0, 0.0
        for m in _DURATION.finditer(text):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _SCALE[m.group(2)]
            pos = m.end()
        if text and pos == len(text):
            return total
    raise ValueError(f"invalid duration {value!r}, expected e.g. 20s, 1m or 500ms")


Duration = Annotated[float, BeforeValidator(parse_duration)]
