"""An extension's settings form, generated from its manifest's ``user_config``, and its answers.

Fields follow the option types (text, number, checkbox, directory and file paths, several
values one per line); required ones are marked. A sensitive value never goes back to the
page: its field shows only whether one is saved, and leaving it empty keeps it. The form
carries the version it was built from, so a save over someone else's newer save is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from starlette.datastructures import FormData

from tether.errors import FieldProblem, InvalidUserConfig
from tether.extensions.config_vars import SystemDirs
from tether.extensions.manifest_model import Manifest, UserConfigOption, UserConfigType
from tether.extensions.settings import check_settings, parse_settings

VERSION_FIELD = "version"
_INPUTS = {
    UserConfigType.STRING: "text",
    UserConfigType.NUMBER: "number",
    UserConfigType.BOOLEAN: "checkbox",
    UserConfigType.DIRECTORY: "text",
    UserConfigType.FILE: "text",
}


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    title: str
    description: str
    kind: str
    input_type: str
    is_required: bool
    is_sensitive: bool
    is_multiple: bool
    is_saved: bool
    """A sensitive field: whether a value is stored (its value is never shown)."""
    value: str
    is_checked: bool
    placeholder: str
    minimum: float | None = None
    maximum: float | None = None
    error: str = ""
    current: str | None = None
    """After a conflict: the value saved meanwhile, when it differs from what was typed."""


@dataclass
class SettingsForm:
    extension_id: str
    version: str
    fields: list[Field] = field(default_factory=list[Field])
    notice: str = ""
    notice_tone: str = "ok"
    is_conflict: bool = False


def build_form(
    extension_id: str,
    manifest: Manifest,
    values: Mapping[str, object],
    version: str,
    *,
    typed: Mapping[str, Sequence[str]] | None = None,
    problems: Sequence[FieldProblem] = (),
) -> SettingsForm:
    """The form for ``values`` (what is stored), or for what was ``typed`` when it is shown again."""
    errors = field_errors(problems)
    fields: list[Field] = []
    for key, option in manifest.user_config.items():
        stored = _text(values.get(key), option)
        shown = "\n".join(typed[key]) if typed is not None and key in typed else stored
        is_bool = option.type is UserConfigType.BOOLEAN
        fields.append(
            Field(
                key=key,
                title=option.title,
                description=option.description,
                kind=option.type.value,
                input_type="password" if option.sensitive else _INPUTS[option.type],
                is_required=option.required,
                is_sensitive=option.sensitive,
                is_multiple=option.multiple and not is_bool,
                is_saved=option.sensitive and values.get(key) not in (None, ""),
                value="" if option.sensitive or is_bool else shown,
                is_checked=is_bool and shown.lower() == "true",
                placeholder=_placeholder(option),
                minimum=option.min,
                maximum=option.max,
                error=errors.get(key, ""),
                current=stored if typed is not None and not option.sensitive and stored != shown else None,
            )
        )
    return SettingsForm(extension_id, version, fields)


def read_answers(
    manifest: Manifest, form: FormData, values: Mapping[str, object]
) -> tuple[dict[str, list[str]], list[str]]:
    """(settings to set as texts, keys to unset) from a posted form; ``values`` is what is stored.

    An empty sensitive field keeps its saved value unless its "clear" box is ticked; an
    empty plain field removes the value.
    """
    texts: dict[str, list[str]] = {}
    unset: list[str] = []
    for key, option in manifest.user_config.items():
        raw = form.get(key)
        typed = raw.strip() if isinstance(raw, str) else ""
        if option.type is UserConfigType.BOOLEAN:
            texts[key] = ["true" if typed == "on" else "false"]
            continue
        items = [line.strip() for line in typed.splitlines() if line.strip()] if option.multiple else [typed]
        if items and items != [""]:
            texts[key] = items
        elif option.sensitive and form.get(f"clear_{key}") != "on":
            continue
        elif key in values:
            unset.append(key)
    return texts, unset


def typed_texts(manifest: Manifest, form: FormData) -> dict[str, list[str]]:
    """What was typed in the plain fields, to show it again (sensitive ones are never echoed)."""
    typed: dict[str, list[str]] = {}
    for key, option in manifest.user_config.items():
        if option.sensitive:
            continue
        raw = form.get(key)
        text = raw.strip() if isinstance(raw, str) else ""
        if option.type is UserConfigType.BOOLEAN:
            typed[key] = ["true" if text == "on" else "false"]
        else:
            typed[key] = [line.strip() for line in text.splitlines()] if option.multiple else [text]
    return typed


def field_errors(problems: Sequence[FieldProblem]) -> dict[str, str]:
    """``user_config.<key>...`` problems by key; others under ""."""
    errors: dict[str, str] = {}
    for problem in problems:
        parts = problem.path.split(".")
        key = parts[1] if len(parts) > 1 and parts[0] == "user_config" else ""
        errors[key] = f"{errors[key]}; {problem.message}" if key in errors else problem.message
    return errors


def _text(value: object, option: UserConfigOption) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\n".join(_one(v) for v in cast(Sequence[object], value))
    return _one(value)


def _one(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _placeholder(option: UserConfigOption) -> str:
    if option.sensitive:
        return ""
    if option.default not in (None, "", [], ()):
        return f"default: {_text(option.default, option)}".replace("\n", ", ")
    if option.type is UserConfigType.DIRECTORY:
        return "an absolute path to a folder, e.g. /home/you/Documents"
    if option.type is UserConfigType.FILE:
        return "an absolute path to a file"
    return ""


def every_problem(
    manifest: Manifest,
    values: Mapping[str, object],
    texts: Mapping[str, Sequence[str]],
    unset: Sequence[str],
    *,
    bundle_dir: str,
    dirs: SystemDirs,
    platform: str,
) -> list[FieldProblem]:
    """Every field's problem at once (the installer stops at the first kind it finds), so the
    form can mark them all: values that do not parse, then values that do not check."""
    problems: list[FieldProblem] = []
    parsed: dict[str, object] = {}
    for key, items in texts.items():
        try:
            parsed.update(parse_settings(manifest, {key: items}))
        except InvalidUserConfig as error:
            problems.extend(error.problems)
    bad = set(field_errors(problems))
    merged = {k: v for k, v in values.items() if k not in unset and k not in texts and k not in bad}
    merged.update({k: v for k, v in parsed.items() if k not in bad})
    try:
        check_settings(manifest, merged, bundle_dir=bundle_dir, dirs=dirs, platform=platform)
    except InvalidUserConfig as error:
        problems.extend(error.problems)
    return problems
