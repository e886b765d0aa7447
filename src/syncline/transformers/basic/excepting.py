"""``obfuscate_columns_except``: keep an allowlist, drop, collapse or redact everything else."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from syncline.schema.arrow import MD_PRIMARY_KEY
from syncline.schema.types import JSON, JSONType
from syncline.transformers.basic import columns as cols
from syncline.transformers.basic import json_paths as jp
from syncline.transformers.basic.spec import Unmatched

_INTERNAL_PREFIX = "_cq_"


def _redactable(t: pa.DataType) -> bool:
    return cols.is_string(t) or cols.is_binary(t) or isinstance(t, JSONType)


def _check(
    record: pa.RecordBatch,
    whole: set[str],
    sub: dict[str, list[jp.Path]],
    mode: Unmatched,
    with_sha: bool,
) -> None:
    names = set(record.schema.names)
    missing = sorted((whole | set(sub)) - names)
    if missing:
        raise ValueError(
            f"obfuscate_columns_except allowlist references unknown column(s): {', '.join(missing)}"
        )
    for f in record.schema:
        is_pk = (f.metadata or {}).get(MD_PRIMARY_KEY) == b"true"
        if f.name.startswith(_INTERNAL_PREFIX) or not is_pk or f.name in whole:
            continue
        if f.name in sub and isinstance(f.type, JSONType):
            continue
        # A primary key must keep telling rows apart, or upserts would merge them.
        if mode is Unmatched.DROP:
            raise ValueError(
                f"primary-key column {f.name!r} is not on the allowlist and unmatched: drop "
                f"would remove it; add {f.name!r} to the allowlist"
            )
        if not _redactable(f.type):
            raise ValueError(
                f"primary-key column {f.name!r} has type {f.type} that cannot be redacted in "
                f"place, so it would be dropped; add {f.name!r} to the allowlist"
            )
        if not with_sha:
            raise ValueError(
                f"primary-key column {f.name!r} is not on the allowlist; with include_sha: false "
                "every row would get the same value; add it to the allowlist or use "
                "include_sha: true"
            )


def _json_except(
    values: pa.ExtensionArray, patterns: list[jp.Path], mode: Unmatched, with_sha: bool
) -> pa.Array:
    def marker(node: Any) -> str:
        return cols.marker_of(jp.dumps(node), with_sha)

    out: list[bytes | None] = []
    for v in values.storage.to_pylist():
        if v is None:
            out.append(None)
            continue
        changed = jp.allow_only_text(v, patterns, mode.value, marker)
        if changed is None:  # not JSON: nothing of it can be shown
            changed = (
                cols.redact_whole_json(
                    pa.ExtensionArray.from_storage(JSON, pa.array([v], pa.binary())), with_sha
                )
                .storage[0]
                .as_py()
            )
        out.append(changed)
    return pa.ExtensionArray.from_storage(JSON, pa.array(out, pa.binary()))


def allow_only_columns(
    record: pa.RecordBatch, keep: list[str], mode: Unmatched, with_sha: bool
) -> pa.RecordBatch:
    whole = {c for c in keep if "." not in c}
    sub: dict[str, list[jp.Path]] = {}
    for c in keep:
        column, path = jp.split_column(c)
        if path is not None:
            sub.setdefault(column, []).append(path)
    _check(record, whole, sub, mode, with_sha)
    fields: list[pa.Field] = []
    arrays: list[pa.Array] = []
    for f, a in zip(record.schema, record.columns, strict=True):
        if f.name.startswith(_INTERNAL_PREFIX) or f.name in whole:
            pass
        elif f.name in sub:
            if not isinstance(f.type, JSONType):
                raise ValueError(
                    f"column {f.name!r} is referenced with a nested path in the allowlist "
                    "but is not a JSON column"
                )
            a = _json_except(a, sub[f.name], mode, with_sha)
        elif mode is Unmatched.DROP or not _redactable(f.type):
            continue
        elif mode is Unmatched.REDACT and isinstance(f.type, JSONType):
            a = _json_except(a, [], mode, with_sha)
        elif isinstance(f.type, JSONType):
            a = cols.redact_whole_json(a, with_sha)
        else:
            a = (
                cols.redact_strings(a, with_sha)
                if cols.is_string(f.type)
                else cols.redact_binary(a, with_sha)
            )
        fields.append(f)
        arrays.append(a)
    if not fields:
        raise ValueError("obfuscate_columns_except would drop every column")
    return cols.rebuild(record, fields, arrays)
