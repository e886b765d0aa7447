"""Small pure rules every source follows for its cursors.

A cursor only moves forward; a read resumes at the cursor inclusively (rows sharing the
boundary value are read again and their primary keys absorb the repeat), optionally a lag
earlier so late rows are picked up.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


C = TypeVar("C", bound=_Ordered)


def advance(saved: C | None, seen: C) -> C:
    """The cursor after rows up to ``seen``: never behind ``saved`` (a re-read window, or a
    resolver meeting rows out of order, may see older values)."""
    return seen if saved is None or saved < seen else saved


def moved(saved: C | None, seen: C) -> bool:
    """Whether rows up to ``seen`` move the cursor (a checkpoint is worth sending)."""
    return saved is None or saved < seen


def inclusive_start(saved: Any, lag: Any = None) -> Any:
    """Where the next read starts, inclusive: the saved cursor, or ``lag`` before it."""
    if saved is None or not lag:
        return saved
    return saved - lag
