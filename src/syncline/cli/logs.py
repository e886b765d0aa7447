"""Log setup: a log file like CloudQuery's (text or JSON lines) and warnings on stderr.

Log calls pass what they are about as fields (``extra={"table": ..., "rows": ...}``): the JSON
form carries them as keys next to ``message``, the text form as ``key=value`` after it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record is a field passed with ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# Fields that steer handlers, not facts about the event.
_CONTROL = frozenset({"console"})


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields passed with a log call, in the order given."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k not in _CONTROL}


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a field value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value and '"' not in value else json.dumps(value)
    return json.dumps(_plain(value))


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
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": _LEVEL_NAMES.get(record.levelname, record.levelname.lower()),
            "module": record.name,
            "message": record.getMessage(),
        }
        if self.invocation_id:  # a served plugin may have none
            data["invocation_id"] = self.invocation_id
        for key, value in fields(record).items():
            data.setdefault(key, _plain(value))
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data)


class TextFormatter(logging.Formatter):
    def __init__(self, invocation_id: str) -> None:
        super().__init__()
        self.invocation_id = invocation_id

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        extra = "".join(f" {k}={_text_value(v)}" for k, v in fields(record).items())
        text = (
            f"{when} {record.levelname.upper():<5} {record.getMessage()}{extra} "
            f"module={record.name} invocation_id={self.invocation_id}"
        )
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class ConsoleFormatter(logging.Formatter):
    """``WARNING: message key=value`` for the warnings and errors shown on stderr."""

    def format(self, record: logging.LogRecord) -> str:
        extra = "".join(f" {k}={_text_value(v)}" for k, v in fields(record).items())
        return f"{record.levelname}: {record.getMessage()}{extra}"


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


# The log file is rotated by size so that months of syncs keep a bounded log: at this size it
# becomes FILE.1 (FILE.1 becomes FILE.2, ...), and the oldest beyond the backups is removed.
DEFAULT_MAX_SIZE_MB = 100
DEFAULT_MAX_BACKUPS = 5


def _open_log_file(
    file_name: str, overwrite: bool, max_size_mb: float, max_backups: int
) -> logging.Handler | None:
    """The log file's handler; None (after a one-line warning) if it cannot be written."""
    try:
        if max_size_mb <= 0:  # never rotated
            return logging.FileHandler(file_name, mode="w" if overwrite else "a", encoding="utf-8")
        if overwrite:  # the rotating handler always appends
            open(file_name, "w").close()
        from logging.handlers import RotatingFileHandler  # sockets and all: only for a file

        return RotatingFileHandler(
            file_name,
            maxBytes=int(max_size_mb * 1024 * 1024),
            backupCount=max_backups,
            encoding="utf-8",
        )
    except OSError as e:
        reason = e.strerror or str(e)
        print(
            f"Warning: cannot write log file {file_name}: {reason}; logging to the console only",
            file=sys.stderr,
        )
        return None


def setup_logging(
    *,
    level: str,
    fmt: str,
    file_name: str | None,
    overwrite: bool,
    invocation_id: str,
    console: bool = False,
    max_size_mb: float = DEFAULT_MAX_SIZE_MB,
    max_backups: int = DEFAULT_MAX_BACKUPS,
) -> Counter:
    """Log to ``file_name`` at ``level``; warnings and errors also go to stderr. The file is
    rotated at ``max_size_mb`` (0: never), keeping ``max_backups`` older files.

    A log file that cannot be opened (missing folder, no permission) is not fatal: the whole
    log goes to stderr instead, so nothing is lost.
    """
    root = logging.getLogger("syncline")
    root.handlers.clear()
    root.setLevel(getattr(logging, level.upper()))
    root.propagate = False
    formatter: logging.Formatter = (
        JsonFormatter(invocation_id) if fmt == "json" else TextFormatter(invocation_id)
    )
    file_handler = (
        _open_log_file(file_name, overwrite, max_size_mb, max_backups) if file_name else None
    )
    if file_handler is not None:
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
    stderr = logging.StreamHandler(sys.stderr)
    if console or (file_name and file_handler is None):
        # --log-console, or the stand-in for a log file that cannot be written: every record
        # at the chosen level, in the chosen format
        stderr.setFormatter(formatter)
    else:
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(ConsoleFormatter())
        stderr.addFilter(lambda r: getattr(r, "console", True))
    root.addHandler(stderr)
    counter = Counter()
    root.addHandler(counter)
    return counter


def restore_logging(saved: tuple[int, bool, list[logging.Handler]]) -> None:
    """Put the ``syncline`` logger back as ``saved_logging()`` found it, closing the log
    file: a command run in-process (tests, a Python program) leaves no handler behind."""
    root = logging.getLogger("syncline")
    for handler in root.handlers:
        if handler not in saved[2]:
            handler.close()
    root.setLevel(saved[0])
    root.propagate = saved[1]
    root.handlers[:] = saved[2]


def saved_logging() -> tuple[int, bool, list[logging.Handler]]:
    root = logging.getLogger("syncline")
    return root.level, root.propagate, list(root.handlers)
