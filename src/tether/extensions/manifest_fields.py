"""Path-aware readers for JSON objects: each getter checks a type and records a problem
naming the field (``user_config.api_key.type``) instead of raising. The manifest reader is
built on it. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from tether.errors import FieldProblem

Obj = Mapping[str, Any]
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s/]+\S*$")


class FieldReader:
    """Collects ``errors`` (FieldProblem) and ``warnings`` (text) while reading."""

    def __init__(self) -> None:
        self.errors: list[FieldProblem] = []
        self.warnings: list[str] = []

    # -- reporting -------------------------------------------------------------------------

    def error(self, path: str, message: str) -> None:
        self.errors.append(FieldProblem(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(str(FieldProblem(path, message)))

    def unknown_keys(self, obj: Obj, known: frozenset[str] | set[str], path: str) -> None:
        for key in obj:
            if key not in known:
                self.warn(join_path(path, key), "unknown field, ignored")

    # -- typed getters -----------------------------------------------------------------------

    def obj(self, value: object, path: str) -> Obj | None:
        if isinstance(value, dict):
            return cast(Obj, value)
        self.error(path, "must be an object")
        return None

    def string(self, obj: Obj, key: str, path: str, *, required: bool = False) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.error(join_path(path, key), "required")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(join_path(path, key), "must be a non-empty string" if required else "must be a string")
            return None
        return value

    def boolean(self, obj: Obj, key: str, path: str) -> bool:
        value = obj.get(key, False)
        if not isinstance(value, bool):
            self.error(join_path(path, key), "must be true or false")
            return False
        return value

    def number(self, obj: Obj, key: str, path: str) -> float | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(join_path(path, key), "must be a number")
            return None
        return value

    def strings(self, obj: Obj, key: str, path: str) -> tuple[str, ...]:
        value = obj.get(key)
        if value is None:
            return ()
        items = self.list(value, join_path(path, key))
        out: list[str] = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                out.append(item)
            else:
                self.error(f"{join_path(path, key)}[{i}]", "must be a string")
        return tuple(out)

    def list(self, value: object, path: str) -> list[object]:
        if isinstance(value, list):
            return cast(list[object], value)
        self.error(path, "must be a list")
        return []

    def url(self, obj: Obj, key: str, path: str) -> str | None:
        value = self.string(obj, key, path)
        if value is not None and not URL.match(value):
            self.warn(join_path(path, key), f"'{value}' is not a URL, ignored")
            return None
        return value


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
