"""From an installed extension to what the host runs: its launch config, grants, or why not.

``plan_start`` reads the stored manifest and settings, fills in the platform (this user's
folders, the runtimes found, the writable data dir) and returns a ``StartPlan``: a stdio
``SourceConfig`` built with ``build_launch``, or the reason it cannot start yet.
``UnstartedSource`` stands in the host for an extension that waits for its settings.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import anyio
import anyio.abc

from tether.core.storage import InstalledExtension
from tether.errors import InvalidUserConfig, SourceUnavailable
from tether.extensions.config_vars import SystemDirs
from tether.extensions.launch import LaunchContext, build_launch
from tether.extensions.layout import DATA_DIR_ENV, ExtensionPaths
from tether.extensions.manifest import validate_manifest
from tether.extensions.manifest_model import Manifest
from tether.extensions.settings import describe_missing, granted_paths, missing_required, resolved_with
from tether.extensions.user_values import path_exists
from tether.types import (
    JSON,
    PromptDef,
    ResourceDef,
    SourceConfig,
    SourceState,
    SourceStatus,
    ToolDef,
    ToolResult,
)

_SKIPPED_DIRS = frozenset({"node_modules", ".git", "__pycache__"})


def manifest_of(extension: InstalledExtension) -> Manifest:
    """The stored manifest, validated again (it was valid when installed)."""
    return validate_manifest(extension.manifest)[0]


@dataclass(frozen=True, slots=True)
class StartPlan:
    """``config`` to start the extension with, or ``status`` saying why it cannot start."""

    config: SourceConfig | None
    status: SourceStatus
    grants: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    """The grants the extension may write to: settings its manifest marks as written."""


def plan_start(
    extension: InstalledExtension,
    values: Mapping[str, object],
    stored: SourceConfig,
    *,
    home: Path,
    commands: Mapping[str, str],
    dirs: SystemDirs | None = None,
    platform: str = sys.platform,
) -> StartPlan:
    """How to start ``extension`` with its settings ``values`` (sensitive ones included).

    ``stored`` is its source row (enabled, call timeout, skip approvals are kept from it).
    """
    manifest = manifest_of(extension)
    dirs = dirs or SystemDirs.of_this_user()
    missing = missing_required(manifest, values)
    if missing:
        return StartPlan(
            None, SourceStatus(SourceState.NEEDS_SETTINGS, describe_missing(missing, extension.id))
        )
    paths = ExtensionPaths(home, extension.id)
    context = LaunchContext(
        extension.install_dir,
        dirs,
        platform,
        bundle_names(Path(extension.install_dir)),
        commands,
        uv_project_environment=str(paths.uv_env),
    )
    try:
        resolved = resolved_with(
            manifest, values, bundle_dir=extension.install_dir, dirs=dirs, platform=platform
        )
        spec = build_launch(manifest, values, context, exists=path_exists)
    except InvalidUserConfig as error:
        detail = "; ".join(str(problem) for problem in error.problems)
        return StartPlan(
            None,
            SourceStatus(
                SourceState.NEEDS_SETTINGS, f"{detail}: fix it with `tether ext config {extension.id}`"
            ),
        )
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    env = {**spec.env, DATA_DIR_ENV: str(paths.data_dir)}
    config = dataclasses.replace(spec.as_source_config(extension.id), env=env)
    config = dataclasses.replace(
        config,
        is_enabled=stored.is_enabled,
        call_timeout_s=stored.call_timeout_s,
        skip_approvals=stored.skip_approvals,
    )
    grants = (*granted_paths(manifest, resolved), str(paths.data_dir))
    written = writable_settings(extension.manifest)
    writable = tuple(
        path
        for key, value in resolved.items()
        if key in written
        for path in ([str(v) for v in value] if isinstance(value, tuple) else [str(value)])
    )
    return StartPlan(config, SourceStatus(SourceState.STOPPED), grants, writable)


def writable_settings(raw_manifest: Mapping[str, object]) -> frozenset[str]:
    """``directory``/``file`` settings the extension writes to, from the manifest's ``_meta.tether``
    block (tether's built-ins declare theirs); everything else is granted read-only."""
    hints = _tether_meta(raw_manifest).get("writable_user_config", [])
    return (
        frozenset(str(key) for key in cast(list[object], hints)) if isinstance(hints, list) else frozenset()
    )


def needs_network(raw_manifest: Mapping[str, object]) -> bool:
    """Whether the manifest's ``_meta.tether`` block says the server needs the network."""
    return _tether_meta(raw_manifest).get("needs_network") is True


def _tether_meta(raw_manifest: Mapping[str, object]) -> Mapping[str, object]:
    meta = raw_manifest.get("_meta")
    tether = cast(Mapping[str, object], meta).get("tether") if isinstance(meta, Mapping) else None
    return cast(Mapping[str, object], tether) if isinstance(tether, Mapping) else {}


def bundle_names(root: Path) -> frozenset[str]:
    """Files and symlinks under the unpacked bundle, as zip member names (``server/lib/x.py``).

    ``node_modules`` and friends are not walked: the launch only looks for ``server/lib``,
    ``server/venv`` and binaries.
    """
    names: set[str] = set()
    for current, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIPPED_DIRS]
        relative = Path(current).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        names.update(prefix + name for name in filenames)
        names.update(prefix + d for d in dirnames if os.path.islink(os.path.join(current, d)))
    return frozenset(names)


class UnstartedSource:
    """A ``ToolSource`` with no tools for an extension that cannot start yet; its status says why."""

    def __init__(self, name: str, status: SourceStatus) -> None:
        self._name = name
        self._status = status
        self._closed = anyio.Event()

    @property
    def name(self) -> str:
        return self._name

    @property
    def status(self) -> SourceStatus:
        return self._status

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await self._closed.wait()

    async def list_tools(self) -> Sequence[ToolDef]:
        return ()

    async def list_prompts(self) -> Sequence[PromptDef]:
        return ()

    async def list_resources(self) -> Sequence[ResourceDef]:
        return ()

    async def call_tool(self, name: str, arguments: Mapping[str, JSON]) -> ToolResult:
        raise SourceUnavailable(f"extension '{self._name}' is not running: {self._status.detail}")

    async def close(self) -> None:
        self._closed.set()
