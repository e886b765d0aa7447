"""Retry transient failures with exponential backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def with_retries(
    fn: Callable[[], T],
    *,
    is_transient: Callable[[BaseException], bool],
    attempts: int,
    base_delay_s: float,
    on_retry: Callable[[BaseException], None] | None = None,
    logger: logging.Logger | None = None,
) -> T:
    """Call ``fn``; on a transient error wait 1x, 2x, 4x... ``base_delay_s`` and call again.

    A persistent error, or the last transient one, is raised.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as e:
            if attempt == attempts or not is_transient(e):
                raise
            delay = base_delay_s * 2 ** (attempt - 1)
            if logger is not None:
                logger.warning(
                    "transient error, retrying",
                    extra={
                        "attempt": attempt,
                        "attempts": attempts,
                        "delay_s": round(delay, 3),
                        "cause": f"{type(e).__name__}: {e}",
                    },
                )
            time.sleep(delay)
            if on_retry is not None:
                on_retry(e)
    raise AssertionError("unreachable")
