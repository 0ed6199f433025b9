"""tether's connector client as the subject of the official MCP conformance suite's client scenarios.

The suite runs ``python conformance_client.py URL`` with ``MCP_CONFORMANCE_SCENARIO`` (and, for
some scenarios, ``MCP_CONFORMANCE_CONTEXT``) set. This does what a user does, on tether's own
path: add the connector (a pre-registered client id when the scenario gives one, or a
machine-to-machine client_credentials client with a secret or a private key for the
``client-credentials`` scenarios, as ``tether connector add --client-credentials`` stores it), let it
connect, sign in when it needs sign-in (the suite's authorization server approves at once, so
the "browser" only follows the redirect back to the loopback callback), then list the tools and
call them. A call refused for lack of scope signs in again, at most twice, like a user would.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, cast

import anyio
import httpx2
from mcp.shared.auth import OAuthClientInformationFull

from tether.connectors.login import sign_in
from tether.connectors.machine import machine_client
from tether.connectors.netguard import NetworkGuard
from tether.connectors.oauth import ConnectorAuth
from tether.connectors.remote import RemoteSource
from tether.connectors.vault import ConnectorVault, StoredClient
from tether.errors import NeedsSignIn
from tether.store.secrets import FileSecrets
from tether.types import JSON, SourceConfig, SourceKind, SourceState

CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"
"""The URL client id the suite's CIMD scenario expects (tether's setting oauth_client_metadata_url)."""
WAIT_S = 20.0
MAX_SIGN_INS = 3
SETTLED = (SourceState.RUNNING, SourceState.NEEDS_SIGN_IN, SourceState.FAILED)


async def follow_authorization(url: str) -> None:
    """The browser: the suite's authorization server approves at once and redirects to 127.0.0.1."""
    async with httpx2.AsyncClient(follow_redirects=True, timeout=WAIT_S) as http:
        await http.get(url)


def pre_register(vault: ConnectorVault, context: dict[str, Any], scenario: str) -> None:
    client_id = context.get("client_id")
    if not isinstance(client_id, str):
        return
    if "client-credentials" in scenario:
        secret, key, alg = (context.get(k) for k in ("client_secret", "private_key_pem", "signing_algorithm"))
        vault.save_client(
            machine_client(
                client_id,
                client_secret=secret if isinstance(secret, str) else None,
                private_key_pem=key if isinstance(key, str) else None,
                signing_alg=alg if isinstance(alg, str) else None,
            )
        )
        return
    secret = context.get("client_secret")
    info = OAuthClientInformationFull(
        client_id=client_id,
        client_secret=secret if isinstance(secret, str) else None,
        token_endpoint_auth_method="client_secret_basic" if isinstance(secret, str) else "none",
    )
    vault.save_client(StoredClient(info=info, is_pre_registered=True))


def arguments_for(schema: dict[str, Any]) -> dict[str, JSON]:
    """Small valid arguments for a tool's input schema (numbers for add_numbers and the like)."""
    properties = cast(dict[str, dict[str, Any]], schema.get("properties") or {})
    samples: dict[str, JSON] = {"number": 1, "integer": 1, "string": "tether", "boolean": True}
    return {name: samples.get(str(spec.get("type")), "tether") for name, spec in properties.items()}


async def run(url: str, home: Path) -> None:
    context = cast(dict[str, Any], json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}"))
    vault = ConnectorVault(FileSecrets(home), "conformance", url)
    pre_register(vault, context, os.environ.get("MCP_CONFORMANCE_SCENARIO", ""))
    guard = NetworkGuard(url)
    config = SourceConfig(name="conformance", kind=SourceKind.HTTP, url=url, call_timeout_s=WAIT_S)
    source = RemoteSource(
        config,
        vault=vault,
        auth=ConnectorAuth(vault, guard=guard),
        connect_timeout_s=WAIT_S,
        backoff_initial_s=0.05,
        backoff_max_s=0.5,
    )
    sign_ins = 0

    async def sign_in_again() -> None:
        nonlocal sign_ins
        sign_ins += 1
        if sign_ins > MAX_SIGN_INS:
            raise SystemExit(f"gave up after {MAX_SIGN_INS} sign-ins")
        result = await sign_in(
            vault,
            follow_authorization,
            guard=guard,
            timeout_s=WAIT_S,
            client_metadata_url=CLIENT_METADATA_URL,
        )
        print(f"signed in (scope: {result.scope})")
        if source.status.state is SourceState.RUNNING:
            return  # the running session picks the new tokens up on its next refused request
        source.reconnect()
        with anyio.fail_after(WAIT_S):
            await source.wait_state(
                SourceState.STARTING, SourceState.RESTARTING, SourceState.RUNNING, SourceState.FAILED
            )
            await source.wait_state(*SETTLED)

    async with anyio.create_task_group() as tg:
        with anyio.fail_after(WAIT_S):
            await tg.start(source.run)
            state = (await source.wait_state(*SETTLED)).state
        if state is SourceState.NEEDS_SIGN_IN:
            await sign_in_again()
        if source.status.state is not SourceState.RUNNING:
            raise SystemExit(f"not connected: {source.status.detail}")
        for tool in await source.list_tools():
            while True:
                try:
                    result = await source.call_tool(tool.name, arguments_for(dict(tool.input_schema)))
                except NeedsSignIn as error:
                    print(f"{tool.name}: {error.code}: {error}")
                    await sign_in_again()
                    continue
                print(f"{tool.name}: {'error' if result.is_error else 'ok'}: {result.text[:200]}")
                break
        await source.close()


def main() -> None:
    url = sys.argv[-1]
    with tempfile.TemporaryDirectory(prefix="tether-conformance-") as home:
        anyio.run(run, url, Path(home))


if __name__ == "__main__":
    main()
