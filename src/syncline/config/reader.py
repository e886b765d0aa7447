"""Turn documents into a validated Config, with errors that name file, document and key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from syncline.config.errors import ConfigError, ConfigErrors
from syncline.config.loader import Document, load_documents, load_text
from syncline.config.models import DestinationSpec, SourceSpec, TransformerSpec, WriteMode

_TABLES_HINT = (
    "tables configuration is required. Hint: set the tables you want to sync by adding "
    "tables: [...] or use `syncline tables` to list available tables"
)
_ENUM_NAMES = {
    "write_mode": "write mode",
    "migrate_mode": "migrate mode",
    "pk_mode": "pk mode",
    "registry": "registry",
}
_MODELS: dict[str, type[SourceSpec | DestinationSpec | TransformerSpec]] = {
    "source": SourceSpec,
    "destination": DestinationSpec,
    "transformer": TransformerSpec,
}
BACKEND_REF = re.compile(r"^@@plugins\.([A-Za-z0-9_.-]+)\.connection$")


@dataclass(frozen=True)
class Configured:
    """A validated plugin spec and the document it came from."""

    spec: Any
    doc: Document

    def error(self, message: str, *path: str | int) -> ConfigError:
        return self.doc.error(message, path)


@dataclass
class Config:
    sources: list[Configured] = field(default_factory=list)
    destinations: list[Configured] = field(default_factory=list)
    transformers: list[Configured] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def destination(self, name: str) -> Configured:
        for d in self.destinations:
            if d.spec.name == name:
                return d
        raise KeyError(name)

    def source_specs(self) -> list[SourceSpec]:
        return [s.spec for s in self.sources]


def read_config(
    paths: list[str],
    *,
    relaxed: bool = False,
    texts: list[tuple[str, str]] | None = None,
    defer_env: bool = False,
) -> Config:
    """Load, check every document, then check the documents against each other.

    ``relaxed`` is for commands that use only part of a config (tables, test-connection):
    sources need not list destinations and one plugin of either kind is enough. ``texts``
    are configs given as text, as (name for errors, YAML) pairs, read after the files.
    ``defer_env`` keeps unset ``${NAME}`` as written and records them on each document
    (``doc.unset``): the caller raises them for the documents it uses.
    """
    docs = load_documents(paths, defer_env=defer_env) if paths else []
    for name, text in texts or []:
        docs.extend(load_text(name, text, defer_env=defer_env))
    paths = paths + [name for name, _ in texts or []]
    config = Config(files=sorted({d.file for d in docs}))
    errors: list[ConfigError] = []
    for doc in docs:
        try:
            kind, configured = _parse_document(doc)
        except ConfigError as e:
            # a value left unset is the likelier cause than the type it then has
            errors.append(doc.unset[0][1] if doc.unset else e)
            continue
        lists = {"source": config.sources, "destination": config.destinations}
        lists.get(kind, config.transformers).append(configured)
    if errors:
        raise ConfigErrors(errors)
    errors = _cross_validate(config, relaxed, paths)
    if errors:
        raise ConfigErrors(errors)
    return config


def _parse_document(doc: Document) -> tuple[str, Configured]:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error("a document must be a mapping with kind and spec")
    for key in data:
        if key not in ("kind", "spec"):
            raise doc.error("unknown key (a document has only kind and spec)", (key,))
    kind = data.get("kind")
    if kind is None:
        raise doc.error("kind is required (source, destination or transformer)", ("kind",))
    if kind not in _MODELS:
        raise doc.error(f"unknown kind {kind}", ("kind",))
    spec = data.get("spec")
    if not isinstance(spec, dict):
        raise doc.error("spec is required and must be a mapping", ("spec",))
    try:
        parsed = _MODELS[kind].model_validate(spec)
    except ValidationError as e:
        raise validation_error(doc, e, ("spec",)) from None
    return kind, Configured(parsed, doc)


def validation_error(
    doc: Document, exc: ValidationError, prefix: tuple[str | int, ...]
) -> ConfigError:
    """The first pydantic error as a ConfigError located at ``prefix`` + the field path."""
    err = exc.errors()[0]
    loc: tuple[str | int, ...] = (*prefix, *err["loc"])
    key = str(err["loc"][-1]) if err["loc"] else ""
    if err["type"] == "extra_forbidden":
        return doc.error("unknown key", loc)
    if err["type"] == "missing":
        if key == "tables":
            return doc.error(_TABLES_HINT, loc)
        return doc.error(f"{key} is required", loc)
    if err["type"] == "enum" and key in _ENUM_NAMES:
        expected = err.get("ctx", {}).get("expected", "")
        return doc.error(f"invalid {_ENUM_NAMES[key]}: {err['input']} (expected {expected})", loc)
    if err["type"] == "value_error" and "error" in err.get("ctx", {}):
        return doc.error(str(err["ctx"]["error"]), loc)  # our own words, as written
    return doc.error(err["msg"].lower(), loc)


def _cross_validate(config: Config, relaxed: bool, paths: list[str]) -> list[ConfigError]:
    errors: list[ConfigError] = []
    where = ", ".join(paths)
    if relaxed:
        if not config.sources and not config.destinations:
            errors.append(ConfigError("expecting at least one source or destination", file=where))
    else:
        if not config.sources:
            errors.append(ConfigError("expecting at least one source", file=where))
        if not config.destinations:
            errors.append(ConfigError("expecting at least one destination", file=where))

    for kind, items in (
        ("source", config.sources),
        ("destination", config.destinations),
        ("transformer", config.transformers),
    ):
        seen: set[str] = set()
        for item in items:
            if item.spec.name in seen:
                errors.append(item.error(f"duplicate {kind} name {item.spec.name}", "spec", "name"))
            seen.add(item.spec.name)

    dest_names = {d.spec.name for d in config.destinations}
    for src in config.sources:
        spec: SourceSpec = src.spec
        if not relaxed and not spec.destinations:
            errors.append(src.error("at least one destination is required", "spec", "destinations"))
        if not relaxed and not spec.tables:
            errors.append(src.error("tables is empty: nothing would be synced", "spec", "tables"))
        for i, d in enumerate(spec.destinations):
            if d not in dest_names:
                errors.append(
                    src.error(
                        f"source {spec.name} references unknown destination {d}",
                        "spec",
                        "destinations",
                        i,
                    )
                )
        errors.extend(_backend_errors(src, dest_names))
    errors.extend(_shared_state_errors(config.sources))

    transformer_names = {t.spec.name for t in config.transformers}
    for dst in config.destinations:
        dspec: DestinationSpec = dst.spec
        if dspec.sync_group_id and dspec.write_mode is WriteMode.OVERWRITE_DELETE_STALE:
            errors.append(
                dst.error(
                    f"destination {dspec.name}: sync_group_id is not supported with "
                    "write_mode: overwrite-delete-stale",
                    "spec",
                    "sync_group_id",
                )
            )
        for i, t in enumerate(dspec.transformers):
            if t in transformer_names:
                continue
            errors.append(
                dst.error(
                    f"destination {dspec.name} references unknown transformer {t}",
                    "spec",
                    "transformers",
                    i,
                )
            )
    return errors


def _backend_errors(src: Configured, dest_names: set[str]) -> list[ConfigError]:
    opts = src.spec.backend_options
    if opts is None or (not opts.table_name and not opts.connection):
        return []
    if not opts.table_name or not opts.connection:
        missing = "table_name" if not opts.table_name else "connection"
        return [
            src.error(
                "backend_options must contain both connection and table_name",
                "spec",
                "backend_options",
                missing,
            )
        ]
    m = BACKEND_REF.match(opts.connection)
    if m is None:
        if opts.connection.startswith("@@"):
            return [
                src.error(
                    f"invalid plugin reference {opts.connection}; "
                    "expected @@plugins.<destination>.connection",
                    "spec",
                    "backend_options",
                    "connection",
                )
            ]
        return []  # a literal gRPC address
    if m.group(1) not in dest_names:
        return [
            src.error(
                f"variable plugins.{m.group(1)}.connection not found: no destination named "
                f"{m.group(1)}",
                "spec",
                "backend_options",
                "connection",
            )
        ]
    return []


def _shared_state_errors(sources: list[Configured]) -> list[ConfigError]:
    """Cursor keys are chosen by the source (usually table names), so two sources on one
    state table would read and overwrite each other's cursors: refused."""
    owners: dict[tuple[str, str], str] = {}
    errors = []
    for src in sources:
        opts = src.spec.backend_options
        if opts is None or not opts.table_name or not opts.connection:
            continue
        where = (opts.connection, opts.table_name)
        first = owners.setdefault(where, src.spec.name)
        if first != src.spec.name:
            errors.append(
                src.error(
                    f"sources {first} and {src.spec.name} use the same state table "
                    f"{opts.table_name} on {opts.connection}: each would resume from the "
                    "other's cursors; give each source its own table_name",
                    "spec",
                    "backend_options",
                    "table_name",
                )
            )
    return errors


def backend_destination_name(spec: SourceSpec) -> str | None:
    """The destination named by ``@@plugins.<name>.connection``, if any."""
    if spec.backend_options is None:
        return None
    m = BACKEND_REF.match(spec.backend_options.connection)
    return m.group(1) if m else None
