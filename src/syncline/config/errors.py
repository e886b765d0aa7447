"""Config errors always say where: file, document number, line and key."""

from __future__ import annotations


class ConfigError(Exception):
    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        document: int | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.document = document
        self.key = key
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.document is not None:
            where.append(f"document {self.document}")
        if self.line is not None:
            where.append(f"line {self.line}")
        prefix = self.file or "config"
        if where:
            prefix += f" ({', '.join(where)})"
        key = f"{self.key}: " if self.key else ""
        return f"{prefix}: {key}{self.message}"


class ConfigErrors(Exception):
    """Several independent config errors, reported together."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
