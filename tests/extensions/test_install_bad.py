"""Bad input to the installer: each one is refused with a stable code and leaves nothing behind.

"Nothing behind" means no extension dir, no extension or source row, no secret, and (for an
update) the previous version still installed and running.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path
from typing import IO

import anyio
import pytest

from tether.app import App
from tether.errors import InstallInProgress, NoSpace, TetherError
from tether.extensions.pack import pack_bundle
from tether.extensions.signature import sign_bundle
from tether.types import Actor, SourceState

from .bundle_samples import (
    RawMember,
    bundle_bytes,
    file,
    make_identity,
    make_zip,
    minimal_manifest,
    raw_zip,
    symlink,
    zeros_deflated,
)
from .ext_servers import manifest, node_extension, settings_manifest

ME = Actor("test", "me")
WAIT_S = 30.0
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


async def assert_nothing_installed(app: App) -> None:
    extensions_dir = app.settings.home / "extensions"
    assert not extensions_dir.exists() or list(extensions_dir.iterdir()) == []
    assert await app.store.list_extensions() == []
    assert await app.store.list_sources() == []
    secrets = app.settings.home / "secrets.enc"
    if secrets.exists():
        assert app.secrets.get_secret("extension/keyed/setting/api_key") is None


async def refused(app: App, tmp_path: Path, data: bytes, **settings: list[str]) -> TetherError:
    path = tmp_path / "bad.mcpb"
    path.write_bytes(data)
    with pytest.raises(TetherError) as failure:
        await app.extensions().install_bundle(ME, path, settings=settings)
    await assert_nothing_installed(app)
    return failure.value


def zip_bomb() -> bytes:
    deflated, crc = zeros_deflated(1024)  # 1 GiB of zeros in about 1 MB
    member = RawMember("server/data.bin", deflated, crc, 1024 * 1024 * 1024)
    return raw_zip(
        [member], stored=[file("manifest.json", json.dumps(minimal_manifest())), file("server/index.js", "")]
    )


BAD_BUNDLES = {
    "not a zip": (b"this is not a zip file at all", "invalid_bundle"),
    "no manifest.json": (make_zip([file("server/index.js", "x")]), "invalid_bundle"),
    "invalid JSON": (
        make_zip([file("manifest.json", "{not json"), file("server/index.js", "")]),
        "invalid_bundle",
    ),
    "unknown manifest_version": (bundle_bytes(minimal_manifest("9.9")), "invalid_manifest"),
    "missing entry point": (bundle_bytes(entry_point=False), "invalid_manifest"),
    "zip-slip": (bundle_bytes(None, file("../../escape.js", "x")), "invalid_bundle"),
    "absolute path": (bundle_bytes(None, file("/etc/evil", "x")), "invalid_bundle"),
    "symlink escape": (
        bundle_bytes(None, symlink("server/passwd", "../../../../etc/passwd")),
        "invalid_bundle",
    ),
    "1 GB zip bomb": (zip_bomb(), "invalid_bundle"),
}


@pytest.mark.parametrize("case", list(BAD_BUNDLES), ids=list(BAD_BUNDLES))
async def test_a_bad_bundle_is_refused_and_leaves_nothing(tether_app: App, tmp_path: Path, case: str) -> None:
    data, code = BAD_BUNDLES[case]
    error = await refused(tether_app, tmp_path, data)
    assert error.code == code, error


async def test_a_bundle_for_another_platform_is_refused(tether_app: App, tmp_path: Path) -> None:
    other = "win32" if not tether_app.settings.home.drive else "linux"
    raw = minimal_manifest(compatibility={"platforms": [other]})
    error = await refused(tether_app, tmp_path, bundle_bytes(raw))
    assert error.code == "incompatible_extension"
    assert "runs on Windows only" in str(error)


@needs_node
async def test_a_bundle_needing_a_newer_node_is_refused_with_the_minimum(
    tether_app: App, tmp_path: Path
) -> None:
    raw = minimal_manifest(compatibility={"runtimes": {"node": ">=99.0.0"}})
    error = await refused(tether_app, tmp_path, bundle_bytes(raw))
    assert error.code == "incompatible_extension"
    assert "Node 99 or newer" in str(error)


async def test_a_missing_runtime_is_named(tether_app: App, tmp_path: Path) -> None:
    installer = tether_app.extensions()
    installer._commands = {"python": "/nonexistent/python"}  # pyright: ignore[reportPrivateUsage]
    raw = minimal_manifest(compatibility={"runtimes": {"node": ">=18"}})
    path = tmp_path / "bad.mcpb"
    path.write_bytes(bundle_bytes(raw))
    with pytest.raises(TetherError) as failure:
        await installer.install_bundle(ME, path)
    assert failure.value.code == "incompatible_extension"
    assert "node was not found" in str(failure.value)
    assert "Node 18 or newer" in str(failure.value)
    await assert_nothing_installed(tether_app)


async def test_a_directory_setting_that_does_not_exist_is_refused(tether_app: App, tmp_path: Path) -> None:
    data = pack_bundle(node_extension(tmp_path / "keyed", settings_manifest("keyed")))
    error = await refused(tether_app, tmp_path, data, api_key=["k"], root=[str(tmp_path / "nowhere")])
    assert error.code == "invalid_user_config"
    assert "`user_config.root`: no directory at" in str(error)


async def test_a_setting_of_the_wrong_type_names_its_field(tether_app: App, tmp_path: Path) -> None:
    data = pack_bundle(node_extension(tmp_path / "keyed", settings_manifest("keyed")))
    error = await refused(tether_app, tmp_path, data, verbose=["perhaps"], colour=["red"])
    assert error.code == "invalid_user_config"
    assert "`user_config.verbose`: 'perhaps' is not true or false" in str(error)
    assert "`user_config.colour`: not a setting of this extension" in str(error)


async def test_a_tampered_signed_bundle_is_refused(tether_app: App, tmp_path: Path) -> None:
    signer = make_identity("Publisher")
    signed = bytearray(sign_bundle(pack_bundle(node_extension(tmp_path / "hello")), signer.cert, signer.key))
    signed[40] ^= 0x01
    error = await refused(tether_app, tmp_path, bytes(signed))
    assert error.code in ("invalid_signature", "invalid_bundle")


async def test_a_tampered_signature_over_intact_zip_is_refused(tether_app: App, tmp_path: Path) -> None:
    signer = make_identity("Publisher")
    signed = bytearray(sign_bundle(pack_bundle(node_extension(tmp_path / "hello")), signer.cert, signer.key))
    signed[-len(b"MCPB_SIG_END") - 10] ^= 0x01  # in the signature value; the zip itself is intact
    error = await refused(tether_app, tmp_path, bytes(signed))
    assert error.code == "invalid_signature"


async def test_unsigned_bundles_are_refused_when_signatures_are_required(
    tether_app: App, tmp_path: Path
) -> None:
    installer = tether_app.extensions()
    installer.require_signed = True
    path = tmp_path / "hello.mcpb"
    path.write_bytes(pack_bundle(node_extension(tmp_path / "hello")))
    with pytest.raises(TetherError) as failure:
        await installer.install_bundle(ME, path)
    assert failure.value.code == "signature_required"
    await assert_nothing_installed(tether_app)


async def test_a_full_disk_during_unpack_leaves_nothing(tether_app: App, tmp_path: Path) -> None:
    written: list[int] = []

    def fill_up(out: IO[bytes], chunk: bytes) -> None:
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(out.write(chunk))

    folder = node_extension(tmp_path / "big")
    (folder / "server" / "blob.bin").write_bytes(bytes(range(256)) * 4096)
    path = tmp_path / "big.mcpb"
    path.write_bytes(pack_bundle(folder))
    installer = tether_app.extensions()
    installer.write = fill_up
    with pytest.raises(NoSpace) as failure:
        await installer.install_bundle(ME, path)
    assert failure.value.code == "no_space"
    await assert_nothing_installed(tether_app)


@needs_node
async def test_the_same_id_installed_twice_at_once_installs_once(tether_app: App, tmp_path: Path) -> None:
    path = tmp_path / "hello.mcpb"
    path.write_bytes(pack_bundle(node_extension(tmp_path / "hello")))
    outcomes: list[str] = []

    async def install() -> None:
        try:
            await tether_app.extensions().install_bundle(ME, path, start=False)
        except TetherError as error:
            outcomes.append(error.code)
        else:
            outcomes.append("ok")

    with anyio.fail_after(WAIT_S):
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(install)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {InstallInProgress.code, "already_exists"}
    assert [e.id for e in await tether_app.store.list_extensions()] == ["hello"]
    assert sorted(p.name for p in (tether_app.settings.home / "extensions" / "hello").iterdir()) == [
        "1.0.0",
        "data",
    ]


async def test_installing_over_an_installed_id_says_to_update(tether_app: App, tmp_path: Path) -> None:
    path = tmp_path / "hello.mcpb"
    path.write_bytes(pack_bundle(node_extension(tmp_path / "hello")))
    await tether_app.extensions().install_bundle(ME, path, start=False)
    with pytest.raises(TetherError) as failure:
        await tether_app.extensions().install_bundle(ME, path, start=False)
    assert failure.value.code == "already_exists"
    assert "tether ext update hello" in str(failure.value)


async def test_an_update_for_another_extension_changes_nothing(tether_app: App, tmp_path: Path) -> None:
    first = tmp_path / "hello.mcpb"
    first.write_bytes(pack_bundle(node_extension(tmp_path / "hello")))
    other = tmp_path / "other.mcpb"
    other.write_bytes(pack_bundle(node_extension(tmp_path / "other", manifest("other", version="2.0.0"))))
    await tether_app.extensions().install_bundle(ME, first, start=False)
    with pytest.raises(TetherError) as failure:
        await tether_app.extensions().update_bundle(ME, other, extension_id="hello")
    assert failure.value.code == "usage"
    with pytest.raises(TetherError) as missing:
        await tether_app.extensions().update_bundle(ME, other)
    assert missing.value.code == "unknown_extension"
    assert (await tether_app.store.get_extension("hello")).version == "1.0.0"


@needs_node
async def test_a_full_disk_during_an_update_keeps_the_old_version_running(
    tether_app: App, tmp_path: Path
) -> None:
    installer = tether_app.extensions()
    old = tmp_path / "v1.mcpb"
    old.write_bytes(pack_bundle(node_extension(tmp_path / "v1" / "hello")))
    new = tmp_path / "v2.mcpb"
    new.write_bytes(
        pack_bundle(node_extension(tmp_path / "v2" / "hello", manifest("hello", version="2.0.0")))
    )
    with anyio.fail_after(WAIT_S):
        await installer.install_bundle(ME, old)

    def no_space(out: IO[bytes], chunk: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    installer.write = no_space
    with pytest.raises(NoSpace):
        await installer.update_bundle(ME, new)
    assert (await tether_app.store.get_extension("hello")).version == "1.0.0"
    assert tether_app.host.source("hello").status.state is SourceState.RUNNING
    folder = tether_app.settings.home / "extensions" / "hello"
    assert sorted(p.name for p in folder.iterdir()) == ["1.0.0", "data"]
