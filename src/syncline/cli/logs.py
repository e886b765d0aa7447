"""Log setup: a log file like CloudQuery's (text or JSON lines) and warnings on stderr."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

# CloudQuery (zerolog) level names; its CLI counts "warn" and "error" lines of a plugin.
_LEVEL_NAMES = {"WARNING": "warn", "CRITICAL": "error"}


def python_level(name: str) -> str:
    """A CloudQuery --log-level value as a logging level name."""
    return {"trace": "debug", "warn": "warning"}.get(name, name)


class JsonFormatter(logging.Formatter):
    def __init__(self, invocation_id: str) -> None:
        super().__init__()
        self.invocation_id = invocation_id

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": _LEVEL_NAMES.get(record.levelname, record.levelname.lower()),
            "module": record.name,
            "message": record.getMessage(),
        }
        if self.invocation_id:  # a served plugin may have none
            data["invocation_id"] = self.invocation_id
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data)


class TextFormatter(logging.Formatter):
    def __init__(self, invocation_id: str) -> None:
        super().__init__()
        self.invocation_id = invocation_id

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = (
            f"{when} {record.levelname.upper():<5} {record.getMessage()} "
            f"module={record.name} invocation_id={self.invocation_id}"
        )
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class Counter(logging.Handler):
    """Counts warnings and errors for the summary line."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.warnings = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors += 1
        else:
            self.warnings += 1


def setup_logging(
    *,
    level: str,
    fmt: str,
    file_name: str | None,
    overwrite: bool,
    invocation_id: str,
    console: bool = False,
) -> Counter:
    root = logging.getLogger("syncline")
    root.handlers.clear()
    root.setLevel(getattr(logging, level.upper()))
    root.propagate = False
    formatter: logging.Formatter = (
        JsonFormatter(invocation_id) if fmt == "json" else TextFormatter(invocation_id)
    )
    if file_name:
        fh = logging.FileHandler(file_name, mode="w" if overwrite else "a", encoding="utf-8")
        fh.setFormatter(formatter)
        root.addHandler(fh)
    stderr = logging.StreamHandler(sys.stderr)
    if console:  # --log-console: every record at the chosen level, in the chosen format
        stderr.setFormatter(formatter)
    else:
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        stderr.addFilter(lambda r: getattr(r, "console", True))
    root.addHandler(stderr)
    counter = Counter()
    root.addHandler(counter)
    return counter
