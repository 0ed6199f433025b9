"""open_bundle: a good bundle opens without unpacking; every hostile or broken one is refused."""

from __future__ import annotations

import json
import os
import stat
import warnings
from pathlib import Path

import pytest

from tether.errors import BundleError, InvalidManifest
from tether.extensions.bundle import BundleLimits, MemberKind, open_bundle
from tether.extensions.signature import SignatureStatus

from .bundle_samples import (
    PNG_1PX,
    Entry,
    RawMember,
    bundle_bytes,
    file,
    make_zip,
    minimal_manifest,
    node_manifest_v03,
    raw_zip,
    symlink,
    zeros_deflated,
)


def refused(data: bytes | Path, limits: BundleLimits | None = None) -> BundleError:
    with pytest.raises(BundleError) as caught:
        open_bundle(data, limits=limits)
    return caught.value


def test_a_good_bundle_opens_without_unpacking(tmp_path: Path) -> None:
    path = tmp_path / "hello.mcpb"
    path.write_bytes(bundle_bytes(None, file("server/run.sh", "#!/bin/sh\n", 0o755)))
    bundle = open_bundle(path)
    assert bundle.manifest.name == "hello"
    assert bundle.names == {"manifest.json", "server/index.js", "server/run.sh"}
    run = bundle.member("server/run.sh")
    assert run is not None
    assert run.is_executable
    assert bundle.read("server/index.js") == b"console.log('hi')\n"
    assert bundle.signature_block is None
    assert bundle.verify_signature().status is SignatureStatus.UNSIGNED
    assert list(tmp_path.iterdir()) == [path]


def test_not_a_zip_is_refused() -> None:
    error = refused(b"PK\x03\x04 this is not really a zip")
    assert error.code == "invalid_bundle"


def test_a_path_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mcpb"
    os.mkfifo(fifo)
    assert "not a regular file" in str(refused(fifo))
    assert "cannot read" in str(refused(tmp_path / "missing.mcpb"))


def test_a_bundle_without_manifest_is_refused() -> None:
    assert "no manifest.json" in str(refused(make_zip([file("server/index.js", "x")])))


def test_a_zipped_folder_gets_a_hint() -> None:
    data = make_zip([file("hello/manifest.json", json.dumps(minimal_manifest()))])
    assert "pack the folder's contents" in str(refused(data))


def test_invalid_json_is_refused_with_its_position() -> None:
    error = refused(make_zip([file("manifest.json", '{"name": "x",}')]))
    assert "not valid JSON: line 1" in str(error)


def test_absurdly_nested_json_is_refused() -> None:
    assert "nested too deeply" in str(refused(make_zip([file("manifest.json", "[" * 100_000)])))


def test_json_constants_that_are_not_json_are_refused() -> None:
    assert "not valid JSON" in str(refused(make_zip([file("manifest.json", '{"a": NaN}')])))


def test_an_invalid_manifest_is_refused_with_its_fields() -> None:
    with pytest.raises(InvalidManifest) as caught:
        open_bundle(bundle_bytes(minimal_manifest(version=7)))
    assert [p.path for p in caught.value.problems] == ["version"]


def test_a_missing_entry_point_is_refused() -> None:
    with pytest.raises(InvalidManifest) as caught:
        open_bundle(bundle_bytes(None, entry_point=False))
    assert caught.value.problems[0].path == "server.entry_point"


@pytest.mark.parametrize(
    "name",
    [
        "../evil.js",
        "server/../../evil.js",
        "/etc/passwd",
        "C:/Windows/evil.dll",
        "C:evil",
        "server\\..\\..\\x",
        "a\\b.js",
        "./server/x.js",
        "server//x.js",
        "server/x\x01.js",
        "file.txt:stream",
    ],
)
def test_zip_slip_names_are_refused(name: str) -> None:
    error = refused(bundle_bytes(None, file(name, "evil")))
    assert error.code == "invalid_bundle"
    assert "refusing a path" in str(error)


@pytest.mark.parametrize(
    "links",
    [
        [symlink("leak", "../../../etc/passwd")],
        [symlink("leak", "/etc/passwd")],
        [symlink("server/leak", "../../outside")],
        [symlink("here", "."), symlink("leak", "here/..")],
        [symlink("loop1", "loop2"), symlink("loop2", "loop1")],
        [symlink("dir", "server"), symlink("leak", "dir/../..")],
        [symlink("leak", "C:\\Windows")],
    ],
    ids=["parent", "absolute", "nested", "through-self-link", "loop", "through-dir-link", "windows"],
)
def test_symlinks_that_leave_the_bundle_are_refused(links: list[Entry]) -> None:
    assert "symlink" in str(refused(bundle_bytes(None, *links)))


def test_symlinks_inside_the_bundle_are_allowed_and_followed_for_reading() -> None:
    bundle = open_bundle(bundle_bytes(None, symlink("main.js", "server/index.js")))
    member = bundle.member("main.js")
    assert member is not None
    assert member.kind is MemberKind.SYMLINK
    assert member.link_target == "server/index.js"
    assert bundle.read("main.js") == b"console.log('hi')\n"


def test_members_inside_a_symlinked_directory_are_refused() -> None:
    data = bundle_bytes(None, symlink("lib", "server"), file("lib/sneaky.js", "x"))
    assert "inside the symlink" in str(refused(data))


@pytest.mark.parametrize("kind", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK])
def test_device_files_and_fifos_are_refused(kind: int) -> None:
    assert "is a" in str(refused(bundle_bytes(None, Entry("dev/thing", b"", kind | 0o600))))


def test_duplicate_names_are_refused() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate as it writes it
        data = bundle_bytes(None, file("server/index.js", "second"))
    assert "appears twice" in str(refused(data))


@pytest.mark.parametrize(
    ("first", "second"), [("README.md", "readme.md"), ("caf\u00e9.js", "cafe\u0301.js"), ("a.js", "a.js.")]
)
def test_names_that_clash_on_some_filesystem_are_refused(first: str, second: str) -> None:
    assert "appears twice" in str(refused(bundle_bytes(None, file(first), file(second))))


def test_a_file_used_as_a_directory_is_refused() -> None:
    assert "which is a file" in str(refused(bundle_bytes(None, file("lib"), file("lib/x.js"))))


def test_encrypted_members_are_refused() -> None:
    secret = RawMember("secret.bin", b"\x03\x00", 0, 0, flag_bits=0x801)
    data = raw_zip(
        [secret],
        stored=[Entry("manifest.json", json.dumps(minimal_manifest()).encode()), Entry("server/index.js")],
    )
    assert "encrypted" in str(refused(data))


def test_too_many_members_are_refused_from_the_central_directory() -> None:
    data = bundle_bytes(None, *(file(f"f/{i}") for i in range(10_000)))
    assert "members, more than the limit of 10000" in str(refused(data))
    assert "more than the limit of 5" in str(
        refused(bundle_bytes(None, *(file(f"f/{i}") for i in range(4))), BundleLimits(max_members=5))
    )


def test_a_one_gigabyte_zip_bomb_with_honest_sizes_is_refused_before_reading_it() -> None:
    deflated, crc = zeros_deflated(1024)
    bomb = RawMember("data/zeros.bin", deflated, crc, 1 << 30)
    manifest = json.dumps(minimal_manifest()).encode()
    data = raw_zip([bomb], stored=[Entry("manifest.json", manifest), Entry("server/index.js", b"x")])
    assert len(data) < 2 * 1024 * 1024
    assert "would unpack to 1024.0 MB, more than the 512.0 MB limit" in str(refused(data))


def test_the_unpacked_size_limit_is_configurable() -> None:
    data = bundle_bytes(None, file("big.bin", bytes(5000)))
    assert "would unpack to" in str(refused(data, BundleLimits(max_unpacked_bytes=4000)))


def test_an_oversized_bundle_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.mcpb"
    path.write_bytes(bundle_bytes(None, file("noise.bin", os.urandom(4096))))
    assert "limit" in str(refused(path, BundleLimits(max_file_bytes=2048)))


def test_an_oversized_manifest_is_refused() -> None:
    raw = minimal_manifest(long_description="x" * 2048)
    assert "limit" in str(refused(bundle_bytes(raw), BundleLimits(max_manifest_bytes=1024)))


def test_icons_are_read_from_the_bundle() -> None:
    big = PNG_1PX + b"big"
    data = bundle_bytes(
        node_manifest_v03(),
        file("icon.png", PNG_1PX),
        file("assets/icon-16.png", PNG_1PX + b"16"),
        file("assets/icon-128.png", big),
    )
    bundle = open_bundle(data)
    assert bundle.read_icon() == big
    assert bundle.read_icon(size_px=20) == PNG_1PX + b"16"
    assert (
        open_bundle(bundle_bytes(minimal_manifest(icon="icon.png"), file("icon.png", PNG_1PX))).read_icon()
        == PNG_1PX
    )


def test_a_missing_icon_is_a_warning_and_reads_as_none() -> None:
    bundle = open_bundle(bundle_bytes(minimal_manifest(icon="icon.png")))
    assert bundle.read_icon() is None
    assert any("icon.png" in w for w in bundle.warnings)


def test_a_uv_bundle_without_pyproject_warns() -> None:
    raw = minimal_manifest("0.4", server={"type": "uv", "entry_point": "src/server.py"})
    bundle = open_bundle(bundle_bytes(raw, file("server/lib/x.py")))
    assert len(bundle.warnings) == 2


def test_reading_a_missing_member_is_an_error() -> None:
    bundle = open_bundle(bundle_bytes())
    with pytest.raises(BundleError):
        bundle.read("nope.js")
