"""Extra HTTP headers for a connector: static ones from the secret store, and a headers helper.

A headers helper is a command (for enterprise gateways) that prints the headers to send,
either as a JSON object or as ``Name: value`` lines; it runs before each connection.
Headers only ever go to the connector's own origin, never to an authorization server.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any, cast

import anyio

from tether.errors import SourceError

HELPER_TIMEOUT_S = 15.0


def parse_helper_output(text: str) -> dict[str, str]:
    """``{"Name": "value"}`` or ``Name: value`` lines -> headers; blank lines and # comments ignored."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            loaded: Any = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg})") from None
        if not isinstance(loaded, dict):
            raise ValueError("expected a JSON object of header names to values")
        return {str(k): str(v) for k, v in cast(dict[Any, Any], loaded).items()}
    headers: dict[str, str] = {}
    for line in stripped.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"expected 'Name: value', got a line of {len(line)} characters")
        headers[name.strip()] = value.strip()
    return headers


async def run_headers_helper(
    command: Sequence[str], *, connector: str, timeout_s: float = HELPER_TIMEOUT_S
) -> dict[str, str]:
    """Run the helper and return the headers it printed; SourceError says why when it fails."""
    what = f"connector '{connector}': the headers helper `{' '.join(command)}`"
    try:
        with anyio.fail_after(timeout_s):
            done = await anyio.run_process(list(command), check=False, stdin=subprocess.DEVNULL)
    except TimeoutError:
        raise SourceError(f"{what} did not finish within {timeout_s:g} s") from None
    except OSError as error:
        raise SourceError(f"{what} cannot run: {error.strerror}") from None
    if done.returncode != 0:
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise SourceError(f"{what} exited with {done.returncode}: {last[0][:200]}")
    try:
        return parse_helper_output(done.stdout.decode(errors="replace"))
    except ValueError as error:
        raise SourceError(f"{what} printed something tether cannot read: {error}") from None


async def resolve_headers(
    static: Mapping[str, str], helper: Sequence[str], *, connector: str
) -> dict[str, str]:
    """The static headers, overridden by what the helper prints (when there is one)."""
    headers = dict(static)
    if helper:
        headers.update(await run_headers_helper(helper, connector=connector))
    return headers
