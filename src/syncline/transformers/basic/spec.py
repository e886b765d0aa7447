"""The ``cloudquery/basic`` spec: a list of transformations, checked as CloudQuery checks it."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Kind(StrEnum):
    REMOVE_COLUMNS = "remove_columns"
    ADD_COLUMN = "add_column"
    ADD_CURRENT_TIMESTAMP_COLUMN = "add_current_timestamp_column"
    ADD_PRIMARY_KEYS = "add_primary_keys"
    OBFUSCATE_COLUMNS = "obfuscate_columns"
    OBFUSCATE_SENSITIVE_COLUMNS = "obfuscate_sensitive_columns"
    OBFUSCATE_COLUMNS_EXCEPT = "obfuscate_columns_except"
    CHANGE_TABLE_NAMES = "change_table_names"
    RENAME_COLUMN = "rename_column"
    UPPERCASE = "uppercase"
    LOWERCASE = "lowercase"
    DROP_ROWS = "drop_rows"


class Unmatched(StrEnum):
    DROP = "drop"
    COLLAPSE = "collapse"
    REDACT = "redact"


_OBFUSCATING = {
    Kind.OBFUSCATE_COLUMNS,
    Kind.OBFUSCATE_SENSITIVE_COLUMNS,
    Kind.OBFUSCATE_COLUMNS_EXCEPT,
}
_NEEDS_COLUMNS = {
    Kind.REMOVE_COLUMNS,
    Kind.ADD_PRIMARY_KEYS,
    Kind.OBFUSCATE_COLUMNS,
    Kind.OBFUSCATE_COLUMNS_EXCEPT,
    Kind.UPPERCASE,
    Kind.LOWERCASE,
    Kind.DROP_ROWS,
}
_NEEDS_NAME = {Kind.ADD_COLUMN, Kind.ADD_CURRENT_TIMESTAMP_COLUMN, Kind.RENAME_COLUMN}
_NEEDS_VALUE = {Kind.ADD_COLUMN, Kind.RENAME_COLUMN}
# The only template action CloudQuery's documentation gives: the table's current name.
_OLD_NAME = re.compile(r"\{\{-?\s*\.OldName\s*-?\}\}")


def render_table_name(template: str, old_name: str) -> str:
    return _OLD_NAME.sub(lambda _: old_name, template)


class Transformation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    tables: list[str] = Field(default_factory=lambda: ["*"], description="Table name globs.")
    columns: list[str] = Field(default_factory=list)
    name: str = ""
    # A string; drop_rows compares each value's text with it (null: rows with a null value).
    value: str | None = None
    include_sha: bool | None = None
    unmatched: Unmatched | None = None
    new_table_name_template: str = ""

    @field_validator("tables", mode="before")
    @classmethod
    def _default_tables(cls, v: Any) -> Any:
        return ["*"] if v in (None, []) else v

    @field_validator("value", mode="before")
    @classmethod
    def _value_text(cls, v: Any) -> Any:
        # YAML reads `value: 5` or `value: true` as non-strings; they mean the same text.
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        return v

    @model_validator(mode="after")
    def _check(self) -> Transformation:
        kind = self.kind
        problems: list[str] = []
        if kind in _NEEDS_COLUMNS and not self.columns:
            problems.append(f"'columns' field must be specified for {kind} transformation")
        if kind not in _NEEDS_COLUMNS and self.columns:
            problems.append(f"'columns' field must not be specified for {kind} transformation")
        if kind in _NEEDS_NAME and not self.name:
            problems.append(f"'name' field must be specified for {kind} transformation")
        if kind not in _NEEDS_NAME and self.name:
            problems.append(f"'name' field must not be specified for {kind} transformation")
        if kind in _NEEDS_VALUE and not self.value:
            problems.append(f"'value' field must be specified for {kind} transformation")
        if kind not in _NEEDS_VALUE and kind is not Kind.DROP_ROWS and self.value:
            problems.append(f"'value' field must not be specified for {kind} transformation")
        if kind is Kind.CHANGE_TABLE_NAMES and not self.new_table_name_template:
            problems.append(
                f"'new_table_name_template' field must be specified for {kind} transformation"
            )
        if kind is not Kind.CHANGE_TABLE_NAMES and self.new_table_name_template:
            problems.append(
                f"'new_table_name_template' field must not be specified for {kind} transformation"
            )
        if self.include_sha is not None and kind not in _OBFUSCATING:
            problems.append(f"'include_sha' field must not be specified for {kind} transformation")
        if self.unmatched is not None and kind is not Kind.OBFUSCATE_COLUMNS_EXCEPT:
            problems.append(f"'unmatched' field must not be specified for {kind} transformation")
        if kind is Kind.CHANGE_TABLE_NAMES:
            rest = _OLD_NAME.sub("", self.new_table_name_template)
            if "{{" in rest or "}}" in rest:
                problems.append(
                    "new_table_name_template supports only the {{.OldName}} placeholder"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def with_sha(self) -> bool:
        return self.include_sha is None or self.include_sha

    @property
    def unmatched_mode(self) -> Unmatched:
        return self.unmatched or Unmatched.DROP


class BasicSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    transformations: list[Transformation] = Field(
        default_factory=list, description="Applied in order to every matching table."
    )
