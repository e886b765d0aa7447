"""Read config files into documents: CloudQuery's splitting, strict YAML, placeholders.

Documents are split on the literal line ``---`` as CloudQuery does. Placeholders are expanded
in parsed values (so comments never trigger them): ``${NAME}`` from the environment (unset is
an error), ``${file:PATH}`` with a file's contents, ``${time:EXPR}`` with a UTC timestamp.
An unquoted value that is a single placeholder is re-read as YAML, so ``batch_size: ${N}``
gives a number, as CloudQuery's text substitution does.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from syncline.config.errors import ConfigError
from syncline.config.golayout import RFC3339, go_format
from syncline.config.secrets import remember, remember_connection_passwords

KeyPath = tuple[str | int, ...]

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_PLACEHOLDER_LINE = re.compile(r"\$\{[^}\n]+\}")  # stood in for before parsing
# libyaml parses about ten times faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Building a node tree recurses once per level, in C for libyaml: nesting is measured on the
# event stream first, as some libyaml builds have no limit and overflow the stack instead.
_MAX_DEPTH = 100
_MAX_NODES = 200_000  # guards against alias expansion bombs
# Pure-Python YAML parsing takes seconds per megabyte: a config is never this large.
MAX_FILE_BYTES = 1024 * 1024
_MAX_INT = 2**63 - 1  # no setting needs more; larger numbers overflow deep inside plugins


@dataclass
class Document:
    file: str
    index: int  # 1-based, as users count
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    # With ``defer_env``: each ``${NAME}`` left unset (kept as written), with its error, for
    # commands that need only some documents (``state``) to raise only where it matters.
    unset: list[tuple[KeyPath, ConfigError]] = field(default_factory=list)

    def line_of(self, path: KeyPath) -> int | None:
        # The closest enclosing key that has a recorded line.
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def error(self, message: str, path: KeyPath = ()) -> ConfigError:
        key = ".".join(str(p) for p in path) or None
        return ConfigError(
            message, file=self.file, document=self.index, key=key, line=self.line_of(path)
        )


def expand_paths(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files.extend(
                sorted(
                    f
                    for f in path.iterdir()
                    if f.is_file() and not f.name.startswith(".") and f.suffix in (".yml", ".yaml")
                )
            )
        elif path.exists():
            files.append(path)
        else:
            raise ConfigError("file not found", file=str(p))
    if not files:
        raise ConfigError("no .yml or .yaml files found", file=", ".join(paths))
    return files


def load_documents(paths: list[str], *, defer_env: bool = False) -> list[Document]:
    docs: list[Document] = []
    for f in expand_paths(paths):
        try:
            size = f.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ConfigError(
                    f"file is too large for a config ({size} bytes; at most {MAX_FILE_BYTES})",
                    file=str(f),
                )
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read file: {e}", file=str(f)) from e
        docs.extend(load_text(str(f), text, defer_env=defer_env))
    return docs


def load_text(file: str, text: str, *, defer_env: bool = False) -> list[Document]:
    """The documents of one config text; ``file`` is the name errors give it."""
    docs: list[Document] = []
    text = text.replace("\r\n", "\n")
    sections = text.split("\n---\n")
    # Line offset of each section, so YAML errors point into the file.
    offset = 0
    for i, section in enumerate(sections, start=1):
        doc = _parse_section(file, i, section, offset, defer_env)
        offset += section.count("\n") + 2
        if doc is not None:
            docs.append(doc)
    return docs


class _Placeholders:
    """Stands each ``${...}`` in for a plain word before YAML reads the text, as CloudQuery
    substitutes before parsing: so a placeholder works anywhere, flow style included
    (``{num_rows: ${N}}``), and one inside a comment goes away with the comment."""

    def __init__(self, text: str) -> None:
        nonce = secrets.token_hex(4)
        while nonce in text:
            nonce = secrets.token_hex(4)
        self.originals: dict[str, str] = {}
        self._token = re.compile(f"synclineph{nonce}n(\\d+)x")

        def stand_in(m: re.Match[str]) -> str:
            token = f"synclineph{nonce}n{len(self.originals)}x"
            self.originals[token] = m.group(0)
            return token

        self.text = _PLACEHOLDER_LINE.sub(stand_in, text)

    def restore(self, value: str) -> str:
        if not self.originals:
            return value
        return self._token.sub(lambda m: self.originals[m.group(0)], value)


def _parse_section(
    file: str, index: int, text: str, line_offset: int, defer_env: bool = False
) -> Document | None:
    doc = Document(file=file, index=index, data=None)
    placeholders = _Placeholders(text)
    text = placeholders.text
    try:
        _check_depth(file, index, text, line_offset)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 + line_offset if mark is not None else None
        problem = e.problem or str(e)
        raise ConfigError(f"invalid YAML: {problem}", file=file, document=index, line=line) from e
    except yaml.YAMLError as e:
        raise ConfigError(f"invalid YAML: {e}", file=file, document=index) from e
    except RecursionError:
        raise ConfigError(
            "invalid YAML: nesting too deep", file=file, document=index, line=line_offset + 1
        ) from None
    if node is None:
        return None  # an empty section (e.g. a trailing ---)
    builder = _Builder(doc, line_offset, placeholders, defer_env)
    try:
        doc.data = builder.build(node, ())
    except RecursionError:
        raise ConfigError(
            "invalid YAML: nesting too deep", file=file, document=index, line=line_offset + 1
        ) from None
    return doc


def _check_depth(file: str, index: int, text: str, line_offset: int) -> None:
    loader = _Loader(text)
    try:
        depth = 0
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _MAX_DEPTH:
                    mark = event.start_mark
                    raise ConfigError(
                        f"invalid YAML: nesting deeper than {_MAX_DEPTH} levels",
                        file=file,
                        document=index,
                        line=mark.line + 1 + line_offset if mark is not None else None,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


class _Builder:
    def __init__(
        self, doc: Document, line_offset: int, placeholders: _Placeholders, defer_env: bool
    ) -> None:
        self.doc = doc
        self.defer_env = defer_env
        self.placeholders = placeholders
        self.offset = line_offset
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise self.doc.error("document too large (alias expansion?)", path)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for knode, vnode in node.value:
                if knode.tag == "tag:yaml.org,2002:merge":
                    raise self.doc.error("YAML merge keys (<<) are not supported", path)
                key = self._construct(knode, path)
                key = str(key)
                if self.placeholders.originals:
                    key = _PLACEHOLDER.sub(
                        lambda m: self._resolve(m, path), self.placeholders.restore(key)
                    )
                sub = (*path, key)
                self.doc.lines[sub] = knode.start_mark.line + 1 + self.offset
                if key in out:
                    raise self.doc.error("duplicate key", sub)
                out[key] = self.build(vnode, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.doc.lines[(*path, i)] = item.start_mark.line + 1 + self.offset
                items.append(self.build(item, (*path, i)))
            return items
        value = self._construct(node, path)
        if isinstance(value, str):
            value = self.placeholders.restore(value)
        if isinstance(value, str) and "${" in value:
            value = self._expand(value, plain=not getattr(node, "style", None), path=path)
        if isinstance(value, str) and ("://" in value or "password" in value.lower()):
            remember_connection_passwords(value)
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > _MAX_INT:
            raise self.doc.error(f"number {value:.3g} is too large", path)
        return value

    def _construct(self, node: yaml.Node, path: KeyPath) -> Any:
        """A scalar's value; unknown tags (!foo) and bad tagged values (!!int 'abc') are
        config errors at their line."""
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception as e:  # constructors raise KeyError, ValueError, YAMLError...
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            err = self.doc.error(f"invalid value {tag}: {problem}", path)
            err.line = node.start_mark.line + 1 + self.offset
            raise err from None

    def _resolve(self, m: re.Match[str], path: KeyPath) -> str:
        name = m.group(1)
        if self.defer_env and not name.startswith(("file:", "time:")) and name not in os.environ:
            self.doc.unset.append((path, self.doc.error(f"env variable {name} not found", path)))
            return m.group(0)
        return _resolve(name, self.doc, path)

    def _expand(self, value: str, plain: bool, path: KeyPath) -> Any:
        unset = len(self.doc.unset)
        whole = _PLACEHOLDER.fullmatch(value) is not None
        expanded = _PLACEHOLDER.sub(lambda m: self._resolve(m, path), value)
        if len(self.doc.unset) > unset:
            return expanded  # kept as written
        if whole and plain:
            try:
                return yaml.safe_load(expanded) if expanded.strip() else expanded
            except yaml.YAMLError:
                return expanded
        return expanded


def _resolve(name: str, doc: Document, path: KeyPath) -> str:
    if name.startswith("file:"):
        target = name[len("file:") :]
        try:
            content = Path(target).read_text(encoding="utf-8")
            remember(content)
            return content
        except OSError as e:
            raise doc.error(f"cannot read ${{file:{target}}}: {e.strerror}", path) from e
    if name.startswith("time:"):
        return parse_time(name[len("time:") :], doc, path)
    value = os.environ.get(name)
    if value is None:
        raise doc.error(f"env variable {name} not found", path)
    remember(value)
    return value


_RELATIVE = re.compile(r"^(\d+)\s*(second|minute|hour|day|week|month|year)s?\s+ago$", re.IGNORECASE)
_UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=30),
    "year": timedelta(days=365),
}


def parse_time(expr: str, doc: Document, path: KeyPath) -> str:
    """``now``, ``N <unit>s ago`` or an ISO date/time, in UTC, formatted with the Go layout
    after ``|`` (default RFC 3339)."""
    text, _, layout = expr.partition("|")
    text = text.strip()
    now = datetime.now(UTC)
    if text == "now":
        t = now
    elif m := _RELATIVE.match(text):
        t = now - int(m.group(1)) * _UNITS[m.group(2).lower()]
    else:
        try:
            t = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as e:
            raise doc.error(f"invalid time expression {expr!r}", path) from e
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
    return go_format(t.astimezone(UTC), layout or RFC3339)
