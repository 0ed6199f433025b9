"""Interop with the reference CLI, @anthropic-ai/mcpb (installed with npm into .cache/).

Bundles the CLI packs and signs open and verify in tether; bundles tether packs and signs
pass the CLI's validate/unpack/info. ``mcpb verify`` itself is observed, not trusted: in
2.1.2 it calls node-forge's ``p7.verify``, which is not implemented, so it reports every
bundle, however validly signed, as "not signed".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.mcpb_cli import PACKAGE, RUN_TIMEOUT_S, Mcpb
from tether.extensions.bundle import open_bundle, safe_extract
from tether.extensions.config_vars import SystemDirs
from tether.extensions.launch import LaunchContext, build_launch
from tether.extensions.manifest import validate_manifest
from tether.extensions.pack import pack_bundle, validate_bundle
from tether.extensions.signature import SignatureStatus, sign_bundle, verify_signature

from .bundle_samples import (
    PNG_1PX,
    Identity,
    make_identity,
    minimal_manifest,
    node_manifest_v02,
    node_manifest_v03,
    python_manifest_v01,
    uv_manifest_v04,
)

pytestmark = pytest.mark.timeout(600)


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def node_server(root: Path) -> Path:
    return write_tree(
        root,
        {
            "manifest.json": json.dumps(node_manifest_v03()),
            "server/index.js": "console.error('hello');\n",
            "package.json": '{"name": "hello-world-node", "type": "module"}',
            "icon.png": PNG_1PX,
            "assets/icon-16.png": PNG_1PX,
            "assets/icon-128.png": PNG_1PX,
            "package-lock.json": "{}",
        },
    )


def python_server(root: Path) -> Path:
    return write_tree(
        root,
        {
            "manifest.json": json.dumps(python_manifest_v01()),
            "server/main.py": "print('hi')\n",
            "server/lib/helper/__init__.py": "VALUE = 1\n",
            "debug.log": "left out\n",
        },
    )


def write_pem(path: Path, identity: Identity) -> tuple[Path, Path]:
    cert = path.with_suffix(".pem")
    key = path.with_suffix(".key")
    cert.write_bytes(identity.cert.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        identity.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, key


def test_a_node_bundle_packed_by_mcpb_opens_in_tether(mcpb: Mcpb, tmp_path: Path) -> None:
    source = node_server(tmp_path / "hello")
    mcpb.run("pack", source, tmp_path / "hello.mcpb", cwd=tmp_path)
    bundle = open_bundle(tmp_path / "hello.mcpb")
    assert bundle.manifest.name == "hello-world-node"
    assert bundle.warnings == ()
    assert bundle.names == open_bundle(pack_bundle(source)).names  # the same files left out
    assert bundle.read_icon() == PNG_1PX
    assert validate_bundle(tmp_path / "hello.mcpb").signature is not None
    unpacked = safe_extract(bundle, tmp_path / "installed")
    assert (unpacked / "server" / "index.js").read_text() == "console.error('hello');\n"


def test_a_python_bundle_packed_by_mcpb_launches_with_its_lib(mcpb: Mcpb, tmp_path: Path) -> None:
    source = python_server(tmp_path / "files")
    mcpb.run("pack", source, tmp_path / "files.mcpb", cwd=tmp_path)
    bundle = open_bundle(tmp_path / "files.mcpb")
    assert "debug.log" not in bundle.names
    context = LaunchContext("/ext/files", SystemDirs.under_home("/home/ada"), "linux", bundle.names)
    spec = build_launch(bundle.manifest, {"workspace_directory": "/srv/work"}, context)
    assert spec.args == ("/ext/files/server/main.py", "--workspace=/srv/work")
    assert spec.env == {"DEBUG": "false", "PYTHONPATH": "/ext/files/server/lib"}


def test_a_bundle_self_signed_by_mcpb_is_self_signed_in_tether(mcpb: Mcpb, tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("`mcpb sign --self-signed` runs the openssl command, which is not installed")
    mcpb.run("pack", node_server(tmp_path / "hello"), tmp_path / "hello.mcpb", cwd=tmp_path)
    mcpb.run("sign", tmp_path / "hello.mcpb", "--self-signed", cwd=tmp_path)
    result = verify_signature((tmp_path / "hello.mcpb").read_bytes())
    assert result.status is SignatureStatus.SELF_SIGNED
    assert result.publisher == "MCPB Self-Signed Certificate"
    # What the reference says about its own fresh signature:
    verify = mcpb.run("verify", tmp_path / "hello.mcpb", cwd=tmp_path, check=False)
    assert verify.returncode == 1
    assert "not signed" in verify.stderr


def test_a_chain_signature_made_by_mcpb_verifies_in_tether(mcpb: Mcpb, tmp_path: Path) -> None:
    root = make_identity("Interop Root", is_ca=True)
    intermediate = make_identity("Interop Intermediate", issuer=root, is_ca=True)
    publisher = make_identity("Interop Publisher", issuer=intermediate)
    cert, key = write_pem(tmp_path / "publisher", publisher)
    intermediate_pem, _ = write_pem(tmp_path / "intermediate", intermediate)
    mcpb.run("pack", node_server(tmp_path / "hello"), tmp_path / "hello.mcpb", cwd=tmp_path)
    mcpb.run("sign", tmp_path / "hello.mcpb", "-c", cert, "-k", key, "-i", intermediate_pem, cwd=tmp_path)
    signed = (tmp_path / "hello.mcpb").read_bytes()
    result = verify_signature(signed, trusted_roots=[root.cert])
    assert result.status is SignatureStatus.SIGNED
    assert result.publisher == "Interop Publisher"
    tampered = bytearray(signed)
    tampered[64] ^= 0x01
    assert verify_signature(bytes(tampered), trusted_roots=[root.cert]).status is SignatureStatus.INVALID


def test_a_bundle_packed_and_signed_by_tether_works_with_mcpb(mcpb: Mcpb, tmp_path: Path) -> None:
    source = node_server(tmp_path / "hello")
    (source / "server" / "run.sh").write_text("#!/bin/sh\n")
    (source / "server" / "run.sh").chmod(0o755)
    signer = make_identity("Tether Publisher")
    path = tmp_path / "hello.mcpb"
    path.write_bytes(sign_bundle(pack_bundle(source), signer.cert, signer.key))
    mcpb.run("unpack", path, tmp_path / "unpacked", cwd=tmp_path)
    unpacked = tmp_path / "unpacked"
    assert (unpacked / "server" / "index.js").read_bytes() == (source / "server" / "index.js").read_bytes()
    assert os.access(unpacked / "server" / "run.sh", os.X_OK)
    mcpb.run("validate", unpacked / "manifest.json", cwd=tmp_path)
    info = mcpb.run("info", path, cwd=tmp_path)
    assert "Not signed" in info.stdout  # the reference cannot verify any PKCS#7 (see module docstring)
    verify = mcpb.run("verify", path, cwd=tmp_path, check=False)
    assert verify.returncode == 1
    assert verify_signature(path.read_bytes()).status is SignatureStatus.SELF_SIGNED


@pytest.mark.parametrize(
    "raw",
    [python_manifest_v01(), node_manifest_v02(), node_manifest_v03(), minimal_manifest("0.4")],
    ids=["0.1", "0.2", "0.3", "0.4"],
)
def test_the_sample_manifests_are_valid_for_mcpb_too(mcpb: Mcpb, tmp_path: Path, raw: dict[str, Any]) -> None:
    write_tree(tmp_path, {"manifest.json": json.dumps(raw), "icon.png": PNG_1PX})
    mcpb.run("validate", tmp_path / "manifest.json", cwd=tmp_path)
    assert validate_manifest(raw)[1] == []


def test_tether_is_more_lenient_than_mcpb_with_the_spec_examples(mcpb: Mcpb, tmp_path: Path) -> None:
    raw = uv_manifest_v04()  # examples/hello-world-uv: no mcp_config, which the 0.4 schema requires
    write_tree(tmp_path, {"manifest.json": json.dumps(raw), "icon.png": PNG_1PX})
    result = mcpb.run("validate", tmp_path / "manifest.json", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "mcp_config" in result.stdout
    assert validate_manifest(raw)[0].server.mcp_config is None


_REFERENCE_CONFIG = """
import { getMcpConfigForManifest } from %s;
const input = JSON.parse(process.argv[2]);
const result = await getMcpConfigForManifest({ ...input, pathSeparator: "/" });
process.stdout.write(JSON.stringify(result ?? null));
"""


def test_substitution_matches_the_reference_implementation(mcpb: Mcpb, tmp_path: Path) -> None:
    raw = minimal_manifest(
        user_config={
            "dirs": {"type": "directory", "title": "Dirs", "multiple": True, "required": True},
            "verbose": {"type": "boolean", "title": "Verbose", "default": True},
            "limit": {"type": "number", "title": "Limit", "default": 2.5},
            "key": {"type": "string", "title": "Key", "sensitive": True},
            "unset": {"type": "string", "title": "Unset"},
        }
    )
    raw["server"]["mcp_config"] = {
        "command": "node",
        "args": [
            "${__dirname}${/}server/index.js",
            "${user_config.dirs}",
            "--v=${user_config.verbose}",
            "--limit=${user_config.limit}",
            "${user_config.unset}",
            "${DESKTOP}",
            "${UNKNOWN}",
        ],
        "env": {"KEY": "${user_config.key}", "BASE": "x"},
        "platform_overrides": {"linux": {"env": {"KEY": "${user_config.key}", "HOME_DIR": "${HOME}"}}},
    }
    dirs = {
        "HOME": "/home/ada",
        "DESKTOP": "/home/ada/Desktop",
        "DOCUMENTS": "/home/ada/Documents",
        "DOWNLOADS": "/home/ada/Downloads",
    }
    values = {"dirs": ["/srv/a", "/srv/b"], "key": "s3cret"}
    script = tmp_path / "reference.mjs"
    script.write_text(_REFERENCE_CONFIG % json.dumps((PACKAGE / "dist" / "index.js").as_uri()))
    payload = {"manifest": raw, "extensionPath": "/ext/hello", "systemDirs": dirs, "userConfig": values}
    result = subprocess.run(
        [mcpb.node, str(script), json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=True,
    )
    reference = json.loads(result.stdout)
    manifest, _ = validate_manifest(raw)
    system_dirs = SystemDirs("/home/ada", "/home/ada/Desktop", "/home/ada/Documents", "/home/ada/Downloads")
    spec = build_launch(manifest, values, LaunchContext("/ext/hello", system_dirs, "linux"))
    assert reference["command"] == spec.command
    assert tuple(reference["args"]) == spec.args
    assert reference["env"] == dict(spec.env)
