"""The reference CLI, @anthropic-ai/mcpb, installed once per run with npm into .cache/.

A pytest plugin (see ``tests/conftest.py``): the session fixture ``mcpb`` skips when node
or npm is missing, so every test that compares tether with the reference can use it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

MCPB_VERSION = "2.1.2"
CACHE = Path(__file__).resolve().parents[1] / ".cache" / "mcpb-cli"
PACKAGE = CACHE / "node_modules" / "@anthropic-ai" / "mcpb"
RUN_TIMEOUT_S = 120


@dataclass(frozen=True)
class Mcpb:
    node: str

    def run(self, *args: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.node, str(PACKAGE / "dist" / "cli" / "cli.js"), *map(str, args)],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"mcpb {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
        return result


def _installed_version() -> str | None:
    try:
        return json.loads((PACKAGE / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def mcpb() -> Mcpb:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to install the reference CLI @anthropic-ai/mcpb")
    if _installed_version() != MCPB_VERSION:
        CACHE.mkdir(parents=True, exist_ok=True)
        command = [
            npm,
            "install",
            "--prefix",
            str(CACHE),
            "--no-audit",
            "--no-fund",
            f"@anthropic-ai/mcpb@{MCPB_VERSION}",
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm could not install @anthropic-ai/mcpb@{MCPB_VERSION} within 300 s")
        if result.returncode != 0 or _installed_version() != MCPB_VERSION:
            pytest.skip(f"npm could not install @anthropic-ai/mcpb@{MCPB_VERSION}: {result.stderr[-500:]}")
    return Mcpb(node)
