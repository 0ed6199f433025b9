"""Bundles packed (and signed) by the reference CLI, @anthropic-ai/mcpb, install and run in tether.

A Node server, a Python server with its bundled lib, one with sensitive and directory
settings, and signed ones; the ``mcpb`` fixture installs the CLI from npm once per run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import anyio
import pytest
from cryptography.hazmat.primitives import serialization

from tests.mcpb_cli import Mcpb
from tether.app import App, open_app
from tether.config import Settings
from tether.errors import TetherError
from tether.extensions.signature import SignatureStatus
from tether.types import Actor, Effect, SourceState

from .bundle_samples import make_identity
from .ext_servers import node_extension, python_extension, settings_manifest

pytestmark = pytest.mark.timeout(600)
ME = Actor("test", "me")
WAIT_S = 30.0


def mcpb_pack(mcpb: Mcpb, folder: Path) -> Path:
    target = folder.with_suffix(".mcpb")
    mcpb.run("pack", folder, target, cwd=folder.parent)
    return target


async def call(app: App, tool: str, arguments: dict[str, object]) -> str:
    await app.host.set_policy(ME, await app.host.resolve(tool), Effect.ALLOW)
    with anyio.fail_after(WAIT_S):
        result = await app.host.call_tool(ME, tool, arguments)
    assert not result.is_error, result.text
    return result.text


async def test_a_node_server_packed_by_mcpb_runs(mcpb: Mcpb, tether_app: App, tmp_path: Path) -> None:
    bundle = mcpb_pack(mcpb, node_extension(tmp_path / "hello-node"))
    with anyio.fail_after(WAIT_S):
        report = await tether_app.extensions().install_bundle(ME, bundle)
    assert report.started is not None
    assert report.started.status.state is SourceState.RUNNING
    assert await call(tether_app, "hello-node__greet", {"name": "ada"}) == "hello ada from node"


async def test_a_python_server_packed_by_mcpb_runs_with_its_lib(
    mcpb: Mcpb, tether_app: App, tmp_path: Path
) -> None:
    bundle = mcpb_pack(mcpb, python_extension(tmp_path / "hello-python"))
    with anyio.fail_after(WAIT_S):
        await tether_app.extensions().install_bundle(ME, bundle)
    assert await call(tether_app, "hello-python__greet", {"name": "ada"}) == "hello ada from python"


async def test_sensitive_and_directory_settings_of_an_mcpb_bundle_work(
    mcpb: Mcpb, tether_app: App, tmp_path: Path
) -> None:
    root = tmp_path / "projects"
    (root / "alpha").mkdir(parents=True)
    bundle = mcpb_pack(mcpb, node_extension(tmp_path / "keyed", settings_manifest("keyed")))
    with anyio.fail_after(WAIT_S):
        await tether_app.extensions().install_bundle(
            ME, bundle, settings={"api_key": ["sk-interop"], "root": [str(root)]}
        )
    seen = json.loads(await call(tether_app, "keyed__whoami", {}))
    assert seen["api_key_sha256"] == hashlib.sha256(b"sk-interop").hexdigest()
    assert await call(tether_app, "keyed__list_dir", {"path": str(root)}) == "alpha"


async def test_a_bundle_self_signed_by_mcpb_installs_marked_self_signed(
    mcpb: Mcpb, tether_app: App, tmp_path: Path
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("`mcpb sign --self-signed` runs the openssl command, which is not installed")
    bundle = mcpb_pack(mcpb, node_extension(tmp_path / "signed-hello"))
    mcpb.run("sign", bundle, "--self-signed", cwd=tmp_path)
    with anyio.fail_after(WAIT_S):
        report = await tether_app.extensions().install_bundle(ME, bundle)
    assert report.signature.status is SignatureStatus.SELF_SIGNED
    assert report.extension.signature == "self_signed"
    assert report.extension.signer is not None
    assert "MCPB Self-Signed Certificate" in report.extension.signer
    assert await call(tether_app, "signed-hello__greet", {"name": "ada"}) == "hello ada from node"


async def test_a_bundle_signed_by_mcpb_with_a_trusted_chain_installs_when_signatures_are_required(
    mcpb: Mcpb, settings: Settings, tmp_path: Path
) -> None:
    root = make_identity("Interop Root", is_ca=True)
    publisher = make_identity("Interop Publisher", issuer=root)
    cert, key = tmp_path / "publisher.pem", tmp_path / "publisher.key"
    cert.write_bytes(publisher.cert.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        publisher.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    roots = tmp_path / "roots.pem"
    roots.write_bytes(root.cert.public_bytes(serialization.Encoding.PEM))
    signed = mcpb_pack(mcpb, node_extension(tmp_path / "trusted-hello"))
    mcpb.run("sign", signed, "-c", cert, "-k", key, cwd=tmp_path)
    unsigned = mcpb_pack(mcpb, node_extension(tmp_path / "loose-hello"))
    strict = dataclasses.replace(settings, require_signed_extensions=True, trusted_signers=str(roots))
    async with open_app(strict) as app:
        with anyio.fail_after(WAIT_S):
            report = await app.extensions().install_bundle(ME, signed, start=False)
        assert report.signature.status is SignatureStatus.SIGNED
        assert report.extension.signer is not None
        assert "CN=Interop Publisher" in report.extension.signer
        with pytest.raises(TetherError) as refused:
            await app.extensions().install_bundle(ME, unsigned, start=False)
        assert refused.value.code == "signature_required"
        assert [e.id for e in await app.store.list_extensions()] == ["trusted-hello"]
