"""Configured secrets never reach output: every message is passed through ``redact``.

Secrets are the values the config took from ``${NAME}`` and ``${file:PATH}`` (the usual place
for passwords and tokens) and the passwords written inside connection strings. A value is
remembered as written and percent-decoded, since drivers echo either form (libpq quotes a
password it cannot decode). Values too short or too plain to be a secret (``42``, ``true``)
are not remembered: blanking them out would garble every message that contains them.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import unquote

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
_URL_PASSWORD = re.compile(r"://[^:/?#@\s]*:([^@\s]+)@")
_KEYWORD_PASSWORD = re.compile(r"""\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|[^\s]+)""", re.IGNORECASE)


def _plain(value: str) -> bool:
    text = value.strip()
    return len(text) < 4 or text.lower() in ("true", "false", "null") or _is_number(text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def remember(value: str) -> None:
    """Redact ``value`` (and its percent-decoded form) from now on."""
    forms = {value, value.strip(), unquote(value)}
    with _lock:
        _secrets.update(f for f in forms if not _plain(f))


def remember_connection_passwords(text: str) -> None:
    """Passwords inside a libpq URL or ``key=value`` string, e.g. ``postgresql://u:PW@h``."""
    for m in _URL_PASSWORD.finditer(text):
        remember(m.group(1))
    for m in _KEYWORD_PASSWORD.finditer(text):
        remember(m.group(1).strip("'"))


def redact(text: str) -> str:
    if not _secrets or not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text


def forget_all() -> None:
    with _lock:
        _secrets.clear()


# What every LogRecord carries; anything else on a record is a field passed with ``extra``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments merged in) and its text fields (``extra``,
    e.g. a retry's cause) with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
            for key, value in list(vars(record).items()):
                if key not in _RECORD_ATTRS and isinstance(value, str):
                    setattr(record, key, redact(value))
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def redact_any(value: Any) -> str:
    return redact(str(value))
