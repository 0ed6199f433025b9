"""Run a built-in as tether will: packed into a bundle, unpacked, launched from its manifest
with settings (``build_launch``), supervised by ``StdioSource`` and called via ``Host``."""

from __future__ import annotations

import re
import sys
import zipfile
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import anyio
import pytest

from tests.fakes import MemoryStore
from tether.builtin import DATA_DIR_ENV, builtin_dir
from tether.core.host import Host
from tether.extensions.config_vars import SystemDirs
from tether.extensions.launch import LaunchContext, build_launch
from tether.extensions.pack import pack_bundle, validate_bundle
from tether.extensions.runner import StdioSource
from tether.extensions.user_values import path_exists
from tether.types import JSON, Actor, SourceConfig, SourceState, ToolResult

WAIT_S = 20.0
_REFUSAL = re.compile(r"^(?:Error executing tool \w+: )?([a-z_]+): ")
ME = Actor("test")


class Bundles:
    """Each built-in packed with ``pack_bundle`` and unpacked, as the installer would; once per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._unpacked: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._unpacked:
            target = self.root / name
            target.mkdir()
            bundle = target / f"{name}.mcpb"
            bundle.write_bytes(pack_bundle(builtin_dir(name)))
            with zipfile.ZipFile(bundle) as archive:
                archive.extractall(target / "unpacked")
            self._unpacked[name] = target / "unpacked"
        return self._unpacked[name]


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Bundles:
    return Bundles(tmp_path_factory.mktemp("bundles"))


@dataclass
class Running:
    host: Host
    source: StdioSource
    data_dir: Path

    async def call(self, tool: str, **arguments: JSON) -> ToolResult:
        with anyio.fail_after(WAIT_S):
            return await self.host.call_tool(ME, f"{self.source.name}__{tool}", arguments)

    async def ok(self, tool: str, **arguments: JSON) -> Mapping[str, JSON]:
        """The structured result of a call that must succeed."""
        result = await self.call(tool, **arguments)
        assert not result.is_error, result.text
        assert result.structured is not None
        return result.structured

    async def refused(self, tool: str, **arguments: JSON) -> str:
        """The stable code of a call that must fail (``<code>: <message>`` after the SDK's prefix)."""
        result = await self.call(tool, **arguments)
        assert result.is_error, result.structured
        found = _REFUSAL.match(result.text)
        assert found is not None, result.text
        return found.group(1)


def launch_config(
    name: str, bundle_dir: Path, home: Path, settings: Mapping[str, object], *, check_paths: bool = True
) -> SourceConfig:
    """The source config the installer would derive from the manifest and ``settings``."""
    manifest = validate_bundle(bundle_dir).manifest
    context = LaunchContext(
        bundle_dir=str(bundle_dir),
        dirs=SystemDirs.under_home(str(home)),
        commands={"python": sys.executable},
    )
    spec = build_launch(manifest, settings, context, exists=path_exists if check_paths else None)
    return spec.as_source_config(name)


@asynccontextmanager
async def running_builtin(
    name: str,
    bundles: Bundles,
    tmp_path: Path,
    settings: Mapping[str, object],
    *,
    env: Mapping[str, str] | None = None,
    check_paths: bool = True,
) -> AsyncGenerator[Running]:
    """Start built-in ``name`` with ``settings``; its data dir and trash live under ``tmp_path``."""
    data_dir = tmp_path / f"{name}-data"
    config = launch_config(name, bundles[name], tmp_path / "home", settings, check_paths=check_paths)
    config = replace(
        config,
        env={
            **config.env,
            DATA_DIR_ENV: str(data_dir),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),  # the OS trash, kept in the test's dir
            **(env or {}),
        },
    )
    source = StdioSource(config, log_dir=tmp_path / "logs", max_start_failures=1)
    async with Host(MemoryStore()) as host:
        with anyio.fail_after(WAIT_S):
            await host.add_source(source, skip_approvals=True)
        assert source.status.state is SourceState.RUNNING, source.status
        yield Running(host, source, data_dir)
