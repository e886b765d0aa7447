"""The ``syncline`` command line."""

from __future__ import annotations

import os
from typing import NoReturn


def run() -> NoReturn:
    """The ``syncline`` command, in a process of its own."""
    # NumPy (imported by pyarrow) starts a BLAS thread per core as it is imported, and they
    # spin for a while; syncline does no linear algebra, so one thread will do (a tenth of a
    # CPU second of a sync that finds nothing new). An explicit setting is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from syncline.cli.main import run as run_main

    run_main()
