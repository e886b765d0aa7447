"""Format a UTC time with a Go reference-time layout, as ``${time:EXPR|LAYOUT}`` does in
CloudQuery (``2006-01-02``, ``Jan _2 15:04:05``, ``2006-01-02T15:04:05.000Z07:00``...)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

RFC3339 = "2006-01-02T15:04:05Z07:00"

Render = Callable[[datetime], str]

# Longest first where one element is a prefix of another, as Go's layout scanner checks them.
_ELEMENTS: list[tuple[str, Render]] = [
    ("January", lambda t: t.strftime("%B")),
    ("Jan", lambda t: t.strftime("%b")),
    ("Monday", lambda t: t.strftime("%A")),
    ("Mon", lambda t: t.strftime("%a")),
    ("MST", lambda t: "UTC"),
    ("2006", lambda t: f"{t.year:04d}"),
    ("002", lambda t: f"{t.timetuple().tm_yday:03d}"),
    ("_2006", lambda t: f"_{t.year:04d}"),
    ("__2", lambda t: f"{t.timetuple().tm_yday:>3d}"),
    ("_2", lambda t: f"{t.day:>2d}"),
    ("01", lambda t: f"{t.month:02d}"),
    ("02", lambda t: f"{t.day:02d}"),
    ("03", lambda t: f"{(t.hour % 12) or 12:02d}"),
    ("04", lambda t: f"{t.minute:02d}"),
    ("05", lambda t: f"{t.second:02d}"),
    ("06", lambda t: f"{t.year % 100:02d}"),
    ("15", lambda t: f"{t.hour:02d}"),
    ("1", lambda t: str(t.month)),
    ("2", lambda t: str(t.day)),
    ("3", lambda t: str((t.hour % 12) or 12)),
    ("4", lambda t: str(t.minute)),
    ("5", lambda t: str(t.second)),
    ("PM", lambda t: "PM" if t.hour >= 12 else "AM"),
    ("pm", lambda t: "pm" if t.hour >= 12 else "am"),
    # Times here are UTC: "Z" forms print Z, numeric forms print a zero offset.
    ("Z07:00:00", lambda t: "Z"),
    ("Z070000", lambda t: "Z"),
    ("Z07:00", lambda t: "Z"),
    ("Z0700", lambda t: "Z"),
    ("Z07", lambda t: "Z"),
    ("-07:00:00", lambda t: "+00:00:00"),
    ("-070000", lambda t: "+000000"),
    ("-07:00", lambda t: "+00:00"),
    ("-0700", lambda t: "+0000"),
    ("-07", lambda t: "+00"),
]


def _fraction(layout: str, i: int) -> tuple[int, Render] | None:
    """``.000`` / ``,999`` (a run of one digit, not followed by a digit): fractional seconds;
    9s drop trailing zeros (and the separator when nothing is left)."""
    if i + 1 >= len(layout) or layout[i + 1] not in "09":
        return None
    digit = layout[i + 1]
    j = i + 1
    while j < len(layout) and layout[j] == digit:
        j += 1
    if j < len(layout) and layout[j].isdigit():
        return None
    width, sep = j - i - 1, layout[i]

    def render(t: datetime) -> str:
        digits = f"{t.microsecond:06d}000"[:width]
        if digit == "9":
            digits = digits.rstrip("0")
            return sep + digits if digits else ""
        return sep + digits

    return j - i, render


def go_format(t: datetime, layout: str = RFC3339) -> str:
    out: list[str] = []
    i = 0
    while i < len(layout):
        if layout[i] in ".,":
            frac = _fraction(layout, i)
            if frac is not None:
                out.append(frac[1](t))
                i += frac[0]
                continue
        for element, render in _ELEMENTS:
            if layout.startswith(element, i):
                out.append(render(t))
                i += len(element)
                break
        else:
            out.append(layout[i])
            i += 1
    return "".join(out)
