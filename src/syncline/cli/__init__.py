"""The ``syncline`` command line."""

from __future__ import annotations

import gc
import os
from typing import NoReturn


def one_blas_thread() -> None:
    """Before NumPy is imported (pyarrow imports it): NumPy starts a BLAS thread per core as
    it is imported, and they spin for a while on cores the engine and the plugins need;
    syncline does no linear algebra, so one thread will do (a tenth of a CPU second of a sync
    that finds nothing new). An explicit setting is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def no_pydantic_plugins() -> None:
    """Before pydantic builds its first validator: syncline's specs are its own, so pydantic
    need not look for plugins (validation hooks) in the metadata of every installed
    distribution, tens of milliseconds at the start of every process. An explicit setting
    is kept (``PYDANTIC_DISABLE_PLUGINS=`` turns the lookup back on)."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def run() -> NoReturn:
    """The ``syncline`` command, in a process of its own."""
    one_blas_thread()
    no_pydantic_plugins()
    # What the command line loads lives for the whole run: imported without the collector,
    # then frozen out of its reach, so none of its passes walks it. (The engine is imported
    # later, once the plugin processes of a sync have been started.)
    gc.disable()
    from syncline.cli.main import run as run_main

    gc.freeze()
    gc.enable()
    run_main()
