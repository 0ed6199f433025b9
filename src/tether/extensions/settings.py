"""An installed extension's settings: parsed from text, checked, split between DB and secrets.

Non-sensitive values are stored as JSON with the extension; ``sensitive`` ones go to the
secret store under ``extension/<id>/setting/<key>`` and appear only as ``[redacted]`` in
activity and output. A missing required setting is not an error here: the extension
installs and waits for it (``missing_required``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import cast

from tether.core.activity import REDACTED
from tether.core.storage import SecretStore
from tether.errors import FieldProblem, InvalidUserConfig
from tether.extensions.compatibility import normalize_platform
from tether.extensions.config_vars import SystemDirs, base_variables
from tether.extensions.manifest_model import Manifest, UserConfigOption, UserConfigType
from tether.extensions.user_values import (
    UserValue,
    is_missing,
    parse_user_value,
    path_exists,
    resolve_user_config,
)
from tether.types import JSON

Values = Mapping[str, object]
"""Settings by key, as stored or as the user gave them: str, number, bool or a list of them."""


def secret_key(extension_id: str, key: str) -> str:
    return f"extension/{extension_id}/setting/{key}"


def parse_settings(manifest: Manifest, texts: Mapping[str, Sequence[str]]) -> dict[str, UserValue]:
    """Read ``--set KEY=VALUE`` text (a key may repeat for a ``multiple`` setting).

    Raises InvalidUserConfig naming every unknown key and every value of the wrong type.
    """
    problems: list[FieldProblem] = []
    parsed: dict[str, UserValue] = {}
    for key, items in texts.items():
        option = manifest.user_config.get(key)
        if option is None:
            known = ", ".join(manifest.user_config) or "none"
            problems.append(
                FieldProblem(f"user_config.{key}", f"not a setting of this extension (known: {known})")
            )
            continue
        try:
            parsed[key] = parse_user_value(option, list(items) if option.multiple else items[-1])
        except InvalidUserConfig as error:
            problems.extend(error.problems)
    if problems:
        raise InvalidUserConfig(problems)
    return parsed


def missing_required(manifest: Manifest, values: Values) -> list[UserConfigOption]:
    """Required settings with neither a value nor a default."""
    return [
        option
        for key, option in manifest.user_config.items()
        if option.required and is_missing(values.get(key)) and is_missing(option.default)
    ]


def check_settings(
    manifest: Manifest,
    values: Values,
    *,
    bundle_dir: str,
    dirs: SystemDirs,
    platform: str,
) -> list[UserConfigOption]:
    """Check every value (types, ranges, chosen directories and files exist); return what is missing.

    Raises InvalidUserConfig for anything but a missing required setting.
    """
    missing = missing_required(manifest, values)
    try:
        resolved_with(manifest, values, bundle_dir=bundle_dir, dirs=dirs, platform=platform)
    except InvalidUserConfig as error:
        skipped = {f"user_config.{option.key}" for option in missing}
        remaining = [problem for problem in error.problems if problem.path not in skipped]
        if remaining:
            raise InvalidUserConfig(remaining) from None
    return missing


def resolved_with(
    manifest: Manifest, values: Values, *, bundle_dir: str, dirs: SystemDirs, platform: str
) -> dict[str, UserValue]:
    """Defaults filled in and every value checked, as a launch would see them."""
    separator = "\\" if normalize_platform(platform) == "win32" else "/"
    variables = base_variables(bundle_dir, dirs, separator)
    return resolve_user_config(
        manifest, values, variables=variables, platform=normalize_platform(platform), exists=path_exists
    )


def granted_paths(manifest: Manifest, resolved: Mapping[str, UserValue]) -> list[str]:
    """The directories and files the settings point at: what the extension was granted."""
    granted: list[str] = []
    for key, option in manifest.user_config.items():
        if option.type not in (UserConfigType.DIRECTORY, UserConfigType.FILE) or key not in resolved:
            continue
        value = resolved[key]
        granted += [str(v) for v in value] if isinstance(value, tuple) else [str(value)]
    return granted


def split_sensitive(manifest: Manifest, values: Values) -> tuple[dict[str, JSON], dict[str, JSON]]:
    """(values for the database, values for the secret store), both JSON-ready."""
    plain: dict[str, JSON] = {}
    secret: dict[str, JSON] = {}
    for key, value in values.items():
        option = manifest.user_config.get(key)
        target = secret if option is not None and option.sensitive else plain
        target[key] = _jsonable(value)
    return plain, secret


def load_values(
    extension_id: str, manifest: Manifest, stored: Mapping[str, JSON], secrets: SecretStore
) -> dict[str, object]:
    """The stored settings with the sensitive ones read back from the secret store."""
    values: dict[str, object] = {key: value for key, value in stored.items() if key in manifest.user_config}
    for key, option in manifest.user_config.items():
        if option.sensitive:
            raw = secrets.get_secret(secret_key(extension_id, key))
            if raw is not None:
                values[key] = json.loads(raw)
    return values


def save_secrets(extension_id: str, secret_values: Mapping[str, JSON], secrets: SecretStore) -> list[str]:
    """Write sensitive values; return the secret keys written (to undo them on failure)."""
    written: list[str] = []
    for key, value in secret_values.items():
        name = secret_key(extension_id, key)
        secrets.set_secret(name, json.dumps(value))
        written.append(name)
    return written


def forget_secrets(extension_id: str, keys: Sequence[str], secrets: SecretStore) -> None:
    for key in keys:
        secrets.delete_secret(secret_key(extension_id, key))


def redacted(manifest: Manifest, values: Values) -> dict[str, JSON]:
    """Values as they may be logged and shown: sensitive ones replaced by ``[redacted]``."""
    shown: dict[str, JSON] = {}
    for key, value in values.items():
        option = manifest.user_config.get(key)
        if value is None:
            shown[key] = None
        elif option is not None and option.sensitive:
            shown[key] = REDACTED
        else:
            shown[key] = _jsonable(value)
    return shown


def describe_missing(options: Sequence[UserConfigOption], extension_id: str) -> str:
    names = ", ".join(f"{option.title} ({option.key})" for option in options)
    return f"needs settings: {names}; set them with `tether ext config {extension_id}`"


def _jsonable(value: object) -> JSON:
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in cast(Sequence[object], value)]
    return value
