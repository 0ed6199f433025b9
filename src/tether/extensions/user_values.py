"""The user's settings for an extension, checked against its manifest's ``user_config``.

Merges defaults (with ``${HOME}`` and friends expanded) under the user's values and checks
type, required, min/max, multiple, and that the directories and files the user chose are
absolute and exist. The existence check is a callable so the core stays pure;
``path_exists`` asks the filesystem.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from tether.errors import FieldProblem, InvalidUserConfig
from tether.extensions.config_vars import VariableValue, js_string, substitute
from tether.extensions.manifest_model import Manifest, UserConfigOption, UserConfigType

UserValue = str | float | bool | tuple[str | float | bool, ...]
PathCheck = Callable[[str, UserConfigType], bool]
"""``exists(path, kind)`` where kind is DIRECTORY or FILE."""

_PATH_TYPES = (UserConfigType.DIRECTORY, UserConfigType.FILE)
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def path_exists(path: str, kind: UserConfigType) -> bool:
    """The filesystem answer for ``exists``: a directory for DIRECTORY, a file for FILE."""
    return os.path.isdir(path) if kind is UserConfigType.DIRECTORY else os.path.isfile(path)


def is_absolute_path(path: str, platform: str) -> bool:
    if platform == "win32":
        return bool(_WINDOWS_ABSOLUTE.match(path))
    return path.startswith("/")


def is_missing(value: object) -> bool:
    """The reference's notion of "not provided": absent, empty, or a list with a hole in it."""
    if value is None or value == "":
        return True
    if isinstance(value, list | tuple):
        items = cast(Sequence[Any], value)
        return len(items) == 0 or any(item is None or item == "" for item in items)
    return False


def resolve_user_config(
    manifest: Manifest,
    values: Mapping[str, object],
    *,
    variables: Mapping[str, VariableValue],
    platform: str,
    exists: PathCheck | None = None,
) -> dict[str, UserValue]:
    """Defaults (expanded with ``variables``) overlaid by ``values``, every value checked.

    Raises InvalidUserConfig listing each bad field. ``exists`` is asked about every chosen
    directory or file; None skips that check.
    """
    problems: list[FieldProblem] = []
    for key in values:
        if key not in manifest.user_config:
            problems.append(FieldProblem(f"user_config.{key}", "not a setting of this extension"))
    resolved: dict[str, UserValue] = {}
    for key, option in manifest.user_config.items():
        path = f"user_config.{key}"
        is_users = key in values and values[key] is not None
        if is_users:
            raw: object = values[key]
        elif option.default is not None:
            raw = _expand_default(option.default, variables)
        else:
            raw = None
        if is_missing(raw):
            if option.required:
                problems.append(FieldProblem(path, f"required: set {option.title}"))
            elif raw == "" or raw == [] or raw == ():
                resolved[key] = "" if raw == "" else ()  # substituted as the reference does
            continue
        value = _check(option, raw, path, problems)
        if value is None:
            continue
        if option.type in _PATH_TYPES and is_users:  # a default is the author's suggestion, not checked
            _check_paths(option, value, path, platform, exists, problems)
        resolved[key] = value
    if problems:
        raise InvalidUserConfig(problems)
    return resolved


def parse_user_value(option: UserConfigOption, text: str | Sequence[str]) -> UserValue:
    """Read a value typed at the CLI or posted by a form: "10" for a number, "yes" for a boolean."""
    path = f"user_config.{option.key}"
    problems: list[FieldProblem] = []
    items = [text] if isinstance(text, str) else list(text)
    parsed: list[object] = []
    for item in items:
        parsed.append(_parse_one(option, item.strip(), path, problems))
    if problems:
        raise InvalidUserConfig(problems)
    value: object = parsed if option.multiple else (parsed[0] if len(parsed) == 1 else parsed)
    checked = _check(option, value, path, problems)
    if checked is None:
        raise InvalidUserConfig(problems)
    return checked


def _parse_one(option: UserConfigOption, text: str, path: str, problems: list[FieldProblem]) -> object:
    if option.type is UserConfigType.NUMBER:
        try:
            return float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            problems.append(FieldProblem(path, f"'{text}' is not a number"))
            return None
    if option.type is UserConfigType.BOOLEAN:
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        problems.append(FieldProblem(path, f"'{text}' is not true or false"))
        return None
    return text


def _expand_default(default: object, variables: Mapping[str, VariableValue]) -> object:
    if isinstance(default, str):
        return substitute(default, variables)
    if isinstance(default, tuple):
        return tuple(substitute(item, variables) for item in cast(tuple[str, ...], default))
    return default


def _check(
    option: UserConfigOption, value: object, path: str, problems: list[FieldProblem]
) -> UserValue | None:
    if isinstance(value, list | tuple):
        if not option.multiple:
            problems.append(FieldProblem(path, f"{option.title} takes one value, not a list"))
            return None
        items = cast(Sequence[object], value)
        checked = [_check_scalar(option, item, f"{path}[{i}]", problems) for i, item in enumerate(items)]
        if any(item is None for item in checked):
            return None
        return cast(UserValue, tuple(checked))
    scalar = _check_scalar(option, value, path, problems)
    if scalar is None:
        return None
    return (cast(str, scalar),) if option.multiple and option.type in _PATH_TYPES else scalar


def _check_scalar(
    option: UserConfigOption, value: object, path: str, problems: list[FieldProblem]
) -> str | float | bool | None:
    if option.type is UserConfigType.BOOLEAN:
        if isinstance(value, bool):
            return value
        problems.append(FieldProblem(path, "must be true or false"))
        return None
    if option.type is UserConfigType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(FieldProblem(path, "must be a number"))
            return None
        if option.min is not None and value < option.min:
            problems.append(FieldProblem(path, f"must be at least {js_string(option.min)}"))
            return None
        if option.max is not None and value > option.max:
            problems.append(FieldProblem(path, f"must be at most {js_string(option.max)}"))
            return None
        return value
    if not isinstance(value, str):
        problems.append(FieldProblem(path, "must be a string"))
        return None
    return value


def _check_paths(
    option: UserConfigOption,
    value: UserValue,
    path: str,
    platform: str,
    exists: PathCheck | None,
    problems: list[FieldProblem],
) -> None:
    items = cast(tuple[str, ...], value) if isinstance(value, tuple) else (cast(str, value),)
    noun = "directory" if option.type is UserConfigType.DIRECTORY else "file"
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if isinstance(value, tuple) else path
        if not is_absolute_path(item, platform):
            problems.append(FieldProblem(where, f"'{item}' must be an absolute path to a {noun}"))
        elif exists is not None and not exists(item, option.type):
            problems.append(FieldProblem(where, f"no {noun} at '{item}'"))
