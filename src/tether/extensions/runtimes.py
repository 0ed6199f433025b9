"""The runtimes on this machine: which ``node``, ``python`` and ``uv`` an extension gets, and
their versions (for ``check_compatibility``).

``python`` is the system's ``python3`` (else ``python``, else the interpreter running tether);
``uv`` is the one on PATH, else the one installed next to tether's interpreter (it is a
dependency on PyPI). Probing runs ``<command> --version``; nothing else is started here.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import anyio

from tether.extensions.compatibility import required_runtime
from tether.extensions.manifest_model import Manifest

PROBE_TIMEOUT_S = 10.0
_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")


def find_commands(path: str | None = None) -> dict[str, str]:
    """Bare command names (``node``, ``python``, ``python3``, ``uv``, ``uvx``) -> executables found."""
    found: dict[str, str] = {}
    node = shutil.which("node", path=path)
    if node:
        found["node"] = node
    python = shutil.which("python3", path=path) or shutil.which("python", path=path) or sys.executable
    found["python"] = found["python3"] = real_interpreter(python)
    for name in ("uv", "uvx"):
        executable = shutil.which(name, path=path) or _beside_interpreter(name)
        if executable:
            found[name] = executable
    return found


@functools.cache
def real_interpreter(python: str) -> str:
    """The interpreter a ``python3`` on PATH really runs: version-manager shims (pyenv, asdf) are
    scripts that call their manager, which a sandbox does not grant; the interpreter itself it can."""
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return python
    resolved = done.stdout.strip()
    return resolved if done.returncode == 0 and resolved and Path(resolved).is_file() else python


def _beside_interpreter(name: str) -> str | None:
    suffix = ".exe" if sys.platform == "win32" else ""
    candidate = Path(sys.executable).with_name(name + suffix)
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def runtimes_to_probe(manifest: Manifest, platform: str = sys.platform) -> list[str]:
    """The runtime the server's command needs and the ones its ``compatibility`` names."""
    names = [runtime] if (runtime := required_runtime(manifest, platform)) else []
    names += [name for name in manifest.compatibility.runtimes if name not in names]
    return [name for name in names if name in ("node", "python", "uv")]


async def probe_versions(names: Iterable[str], commands: Mapping[str, str]) -> dict[str, str | None]:
    """``{runtime: version or None when missing}`` for each of ``names``, probed concurrently."""
    versions: dict[str, str | None] = {}

    async def probe(name: str) -> None:
        executable = commands.get(name)
        versions[name] = await _version_of(executable) if executable else None

    async with anyio.create_task_group() as tg:
        for name in dict.fromkeys(names):
            tg.start_soon(probe, name)
    return versions


async def _version_of(executable: str) -> str | None:
    try:
        with anyio.fail_after(PROBE_TIMEOUT_S):
            done = await anyio.run_process([executable, "--version"], check=False, stdin=subprocess.DEVNULL)
    except (OSError, TimeoutError):
        return None
    if done.returncode != 0:
        return None
    match = _VERSION.search((done.stdout or done.stderr).decode("utf-8", "replace"))
    return match.group(1) if match else None
