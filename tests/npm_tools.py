"""Node tools from npm, installed once into .cache/gateway-npm: the MCP Inspector and the
official conformance suite, with Node 22 itself as an npm package.

``install_node_tools`` (called by a session fixture ``node_tools`` in a conftest) skips when npm
is missing or cannot install them, so the gateway and connector interop tests share one copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "gateway-npm"
PACKAGES = {
    "@modelcontextprotocol/inspector": "2.12.0",
    "@modelcontextprotocol/conformance": "0.1.16",
    "node": "22.23.3",
}
CONFORMANCE = "@modelcontextprotocol/conformance/dist/index.js"
RUN_TIMEOUT_S = 180


@dataclass(frozen=True)
class NodeTools:
    node: Path

    def script(self, package_script: str) -> Path:
        return CACHE / "node_modules" / package_script

    def run(
        self,
        package_script: str,
        *args: str,
        env: dict[str, str] | None = None,
        timeout_s: float = RUN_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.node), str(self.script(package_script)), *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def inspector(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("@modelcontextprotocol/inspector/clients/launcher/build/index.js", "--cli", *args)


def _installed(package: str) -> str | None:
    try:
        return json.loads((CACHE / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def install_node_tools() -> NodeTools:
    """The installed tools, installing them first when needed; skips the test when npm cannot."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is needed to install the MCP Inspector and the conformance suite")
    if any(_installed(package) != version for package, version in PACKAGES.items()):
        CACHE.mkdir(parents=True, exist_ok=True)
        specs = [f"{package}@{version}" for package, version in PACKAGES.items()]
        command = [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", *specs]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=500, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip("npm could not install the MCP Inspector and conformance suite within 500 s")
        if done.returncode != 0 or any(_installed(p) != v for p, v in PACKAGES.items()):
            pytest.skip(f"npm could not install {', '.join(specs)}: {done.stderr[-500:]}")
    node = CACHE / "node_modules" / ".bin" / "node"
    if not node.exists():
        pytest.skip("the node@22 package did not provide a node binary")
    return NodeTools(node)
