"""From manifest + user settings to a launch description: command, args, env, cwd.

Applies the running platform's ``platform_overrides`` (command, args, env each replaced
whole), substitutes variables like the reference CLI, and fills in what each server type
needs (bundled ``server/lib`` on PYTHONPATH, ``uv run`` for uv). Starts nothing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import cast

from tether.extensions.compatibility import normalize_platform, required_runtime
from tether.extensions.config_vars import (
    SystemDirs,
    base_variables,
    replace_variables,
    user_config_variables,
)
from tether.extensions.manifest_model import Manifest, McpConfig, ServerType
from tether.extensions.user_values import PathCheck, is_absolute_path, resolve_user_config
from tether.types import SourceConfig, SourceKind

_VENV_SITE_PACKAGES = re.compile(r"^server/venv/(?:lib/python[^/]+|Lib)/site-packages/")


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """How to start the server. ``env`` holds only what the manifest sets, not the host's env."""

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict[str, str])
    cwd: str = ""

    def as_source_config(self, name: str) -> SourceConfig:
        return SourceConfig(
            name=name, kind=SourceKind.STDIO, command=self.command, args=self.args, env=self.env, cwd=self.cwd
        )


@dataclass(frozen=True, slots=True)
class LaunchContext:
    """Where the unpacked bundle is and what this machine looks like.

    ``bundle_members`` are the bundle's member names (``Bundle.names``), used to find
    ``server/lib``, ``server/venv`` and binaries. ``commands`` maps bare command names to
    executables (e.g. ``{"python": "/usr/bin/python3"}``). ``uv_project_environment`` is where
    ``uv run`` may build its virtualenv (the bundle dir itself may be read-only).
    """

    bundle_dir: str
    dirs: SystemDirs
    platform: str = sys.platform
    bundle_members: Collection[str] = frozenset()
    commands: Mapping[str, str] = field(default_factory=dict[str, str])
    uv_project_environment: str | None = None

    @property
    def path_separator(self) -> str:
        return "\\" if normalize_platform(self.platform) == "win32" else "/"

    @property
    def env_path_separator(self) -> str:
        return ";" if normalize_platform(self.platform) == "win32" else ":"

    def in_bundle(self, relative: str) -> str:
        sep = self.path_separator
        return self.bundle_dir.rstrip("/\\") + sep + relative.replace("/", sep)


def build_launch(
    manifest: Manifest,
    user_values: Mapping[str, object],
    context: LaunchContext,
    *,
    exists: PathCheck | None = None,
) -> LaunchSpec:
    """The launch description for ``manifest`` with the user's settings.

    Raises InvalidUserConfig when a setting is missing or wrong (each field named).
    """
    platform = normalize_platform(context.platform)
    variables = base_variables(context.bundle_dir, context.dirs, context.path_separator)
    values = resolve_user_config(manifest, user_values, variables=variables, platform=platform, exists=exists)
    variables.update(user_config_variables(values))
    config = _effective_config(manifest, context, platform)
    command = cast(str, replace_variables(config.command, variables))
    args = tuple(cast(list[str], replace_variables(list(config.args), variables)))
    env = dict(cast(dict[str, str], replace_variables(dict(config.env), variables)))
    command = _resolve_command(command, manifest, context, platform)
    runtime = required_runtime(manifest, platform)
    if manifest.server.type is ServerType.PYTHON and runtime == "python":
        _add_bundled_python_paths(env, context)
    if runtime == "uv" and context.uv_project_environment and "UV_PROJECT_ENVIRONMENT" not in env:
        env["UV_PROJECT_ENVIRONMENT"] = context.uv_project_environment
    if runtime == "uv" and "UV_FROZEN" not in env and "uv.lock" in context.bundle_members:
        # Never write a lock file into the installed bundle (it is read-only in the sandbox).
        env["UV_FROZEN"] = "1"
    return LaunchSpec(command=command, args=args, env=env, cwd=context.bundle_dir)


def _effective_config(manifest: Manifest, context: LaunchContext, platform: str) -> McpConfig:
    """The manifest's mcp_config for this platform, or what the server type implies without one."""
    server = manifest.server
    if server.mcp_config is not None:
        return server.mcp_config.for_platform(platform)
    entry = "${__dirname}/" + server.entry_point
    if server.type is ServerType.NODE:
        return McpConfig("node", (entry,))
    if server.type is ServerType.PYTHON:
        return McpConfig("python", (entry,))
    if server.type is ServerType.UV:
        return McpConfig("uv", ("run", "--project", "${__dirname}", entry))
    return McpConfig(entry)


def _resolve_command(command: str, manifest: Manifest, context: LaunchContext, platform: str) -> str:
    if is_absolute_path(command, platform):
        resolved = command
    elif (
        "/" in command
        or "\\" in command
        or (manifest.server.type is ServerType.BINARY and command in context.bundle_members)
    ):
        resolved = context.in_bundle(command.replace("\\", "/").removeprefix("./"))
    else:
        return context.commands.get(command, command)
    if platform == "win32" and manifest.server.type is ServerType.BINARY:
        relative = _relative_to_bundle(resolved, context)
        if relative is not None and f"{relative}.exe" in context.bundle_members:
            resolved += ".exe"
    return resolved


def _relative_to_bundle(path: str, context: LaunchContext) -> str | None:
    root = context.bundle_dir.rstrip("/\\")
    if not path.startswith(root) or path[len(root) : len(root) + 1] not in ("/", "\\"):
        return None
    return path[len(root) + 1 :].replace("\\", "/")


def _add_bundled_python_paths(env: dict[str, str], context: LaunchContext) -> None:
    extra: list[str] = []
    if any(name.startswith("server/lib/") for name in context.bundle_members):
        extra.append(context.in_bundle("server/lib"))
    site_packages = sorted(
        {m.group(0).rstrip("/") for name in context.bundle_members if (m := _VENV_SITE_PACKAGES.match(name))}
    )
    extra.extend(context.in_bundle(path) for path in site_packages[:1])
    if not extra:
        return
    sep = context.env_path_separator
    entries = [entry for entry in env.get("PYTHONPATH", "").split(sep) if entry]
    seen = {entry.replace("\\", "/").rstrip("/") for entry in entries}  # manifests write '/' on Windows too
    entries += [path for path in extra if path.replace("\\", "/") not in seen]
    env["PYTHONPATH"] = sep.join(entries)
