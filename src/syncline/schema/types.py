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


_GO_NAMES = {
    "string": "utf8",
    "large_string": "large_utf8",
    "halffloat": "float16",
    "float": "float32",
    "double": "float64",
    "date32[day]": "date32",
    "date64[ms]": "date64",
}


def type_name(t: pa.DataType) -> str:
    """A type as CloudQuery's docs name it: Go Arrow's spelling (``utf8``, ``float64``,
    ``list<item: int64, nullable>``) and the extension name for ``uuid`` / ``json``."""
    if isinstance(t, pa.ExtensionType):
        return str(t.extension_name)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        f = t.value_field
        kind = "list" if pa.types.is_list(t) else "large_list"
        nullable = ", nullable" if f.nullable else ""
        return f"{kind}<{f.name}: {type_name(f.type)}{nullable}>"
    if pa.types.is_struct(t):
        fields = ", ".join(f"{f.name}: {type_name(f.type)}" for f in t)
        return f"struct<{fields}>"
    if pa.types.is_map(t):
        nullable = ", items_nullable" if t.item_field.nullable else ""
        return f"map<{type_name(t.key_type)}, {type_name(t.item_type)}{nullable}>"
    if pa.types.is_decimal128(t):
        return f"decimal({t.precision}, {t.scale})"
    return _GO_NAMES.get(str(t), str(t))
