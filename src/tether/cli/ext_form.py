"""The settings form of ``tether ext config``: asks for each missing required setting on the terminal.

Each answer is checked as it is typed (type, range, the directory exists) and asked again
with the field's error; sensitive ones are read without echo. Stores nothing itself.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

import anyio.to_thread
from rich.prompt import Prompt

from tether.cli.runtime import console
from tether.core.storage import InstalledExtension
from tether.errors import FieldProblem, InvalidUserConfig
from tether.extensions.installed import manifest_of
from tether.extensions.installer import Installer
from tether.extensions.manifest_model import UserConfigOption, UserConfigType
from tether.extensions.settings import check_settings, missing_required, parse_settings


async def ask_missing(
    installer: Installer, extension: InstalledExtension, *, given: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Ask for every required setting that has no value (and was not given with ``--set``)."""
    manifest = manifest_of(extension)
    values = installer.values(extension)
    missing = [o for o in missing_required(manifest, values) if o.key not in given]
    if not missing:
        console.print(f"{extension.id} has every required setting")
        return {}
    console.print(f"[bold]{manifest.title}[/] needs {len(missing)} setting(s):", highlight=False)
    answers: dict[str, list[str]] = {}
    for option in missing:
        while True:
            texts = await anyio.to_thread.run_sync(_ask, option)
            problems = _field_problems(installer, extension, values, option, texts)
            if not problems:
                break
            for problem in problems:
                console.print(f"  [red]{problem.message}[/]", highlight=False)
        answers[option.key] = texts
        values.update(parse_settings(manifest, {option.key: texts}))
    return answers


def _field_problems(
    installer: Installer,
    extension: InstalledExtension,
    values: dict[str, object],
    option: UserConfigOption,
    texts: list[str],
) -> list[FieldProblem]:
    """What is wrong with the answer ``texts`` for ``option`` (problems of other fields aside)."""
    manifest = manifest_of(extension)
    try:
        parsed = parse_settings(manifest, {option.key: texts})
        check_settings(
            manifest,
            {**values, **parsed},
            bundle_dir=extension.install_dir,
            dirs=installer.user_dirs,
            platform=installer.platform,
        )
    except InvalidUserConfig as error:
        return [p for p in error.problems if p.path.startswith(f"user_config.{option.key}")]
    return []


def _ask(option: UserConfigOption) -> list[str]:
    label = f"{option.title} ({option.key})"
    if option.description:
        console.print(f"  {option.description}", style="dim", highlight=False)
    if option.type in (UserConfigType.DIRECTORY, UserConfigType.FILE):
        label += f", an absolute path to a {option.type.value}"
    if option.type is UserConfigType.BOOLEAN:
        label += " [yes/no]"
    if not option.multiple:
        return [_read(label, option)]
    values: list[str] = []
    while True:
        text = _read(label + (" (empty line to finish)" if values else ""), option, allow_empty=bool(values))
        if not text:
            return values
        values.append(text)


def _read(label: str, option: UserConfigOption, *, allow_empty: bool = False) -> str:
    while True:
        # getpass reads /dev/tty, not stdin: hide the answer only when stdin is that terminal.
        hidden = option.sensitive and sys.stdin.isatty()
        text = Prompt.ask(label, console=console, password=hidden).strip()
        if text or allow_empty:
            return text
        console.print("  [red]required: type a value[/]")
