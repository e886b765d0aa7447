"""Which cursor keys belong to which table.

Sources name their keys after the table, alone or followed by a separator and a scope
(``test_incremental_table/client_0``, ``aws_cloudtrail_events/123456789012/us-east-1``).
"""

from __future__ import annotations

from collections.abc import Iterable

_SEPARATORS = "/:|."


def key_of_table(key: str, table: str) -> bool:
    return key == table or (
        key.startswith(table) and len(key) > len(table) and key[len(table)] in _SEPARATORS
    )


def keys_of_table(keys: Iterable[str], table: str) -> list[str]:
    return [k for k in keys if key_of_table(k, table)]
