"""Arrow extension types with CloudQuery's names, so schemas match on the wire."""

from __future__ import annotations

import contextlib

import pyarrow as pa


class UUIDType(pa.ExtensionType):  # type: ignore[misc]
    """A UUID stored as 16 bytes (extension name ``uuid``)."""

    def __init__(self) -> None:
        super().__init__(pa.binary(16), "uuid")

    def __arrow_ext_serialize__(self) -> bytes:
        # CloudQuery's SDKs write this metadata and its CLI checks it when reading schemas.
        return b"uuid-serialized"

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> UUIDType:
        return cls()


class JSONType(pa.ExtensionType):  # type: ignore[misc]
    """A JSON document stored as bytes (extension name ``json``)."""

    def __init__(self) -> None:
        super().__init__(pa.binary(), "json")

    def __arrow_ext_serialize__(self) -> bytes:
        return b"json-serialized"

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> JSONType:
        return cls()


def _register() -> None:
    for ext in (UUIDType(), JSONType()):
        with contextlib.suppress(pa.ArrowKeyError):  # already registered (module reloaded)
            pa.register_extension_type(ext)


_register()

UUID = UUIDType()
JSON = JSONType()


def is_uuid(t: pa.DataType) -> bool:
    return isinstance(t, UUIDType)


def is_json(t: pa.DataType) -> bool:
    return isinstance(t, JSONType)


def type_name(t: pa.DataType) -> str:
    """A short, stable name for docs (``uuid``, ``json``, ``int64``, ``list<item: utf8>``)."""
    if isinstance(t, pa.ExtensionType):
        return str(t.extension_name)
    return str(t)
