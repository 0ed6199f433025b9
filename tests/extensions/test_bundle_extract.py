"""safe_extract: files land with safe modes, lies about sizes are caught, failures leave nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path

import pytest

from tether.errors import BundleError
from tether.extensions.bundle import BundleLimits, open_bundle, safe_extract

from .bundle_samples import (
    Entry,
    RawMember,
    bundle_bytes,
    file,
    minimal_manifest,
    raw_zip,
    symlink,
    zeros_deflated,
)


def test_members_are_unpacked_with_safe_modes(tmp_path: Path) -> None:
    data = bundle_bytes(
        None,
        file("server/run.sh", "#!/bin/sh\n", 0o4777),  # setuid and world-writable are dropped
        file("assets/readme.txt", "hi", 0o666),
        Entry("empty/", b"", stat.S_IFDIR | 0o777),
    )
    dest = safe_extract(open_bundle(data), tmp_path / "ext" / "1.0.0")
    assert (dest / "server" / "index.js").read_text() == "console.log('hi')\n"
    assert json.loads((dest / "manifest.json").read_text())["name"] == "hello"
    run_mode = stat.S_IMODE((dest / "server" / "run.sh").stat().st_mode)
    text_mode = stat.S_IMODE((dest / "assets" / "readme.txt").stat().st_mode)
    assert run_mode & 64
    assert not run_mode & 3586
    assert not text_mode & 73
    assert not text_mode & 2
    assert (dest / "empty").is_dir()
    assert [p.name for p in (tmp_path / "ext").iterdir()] == ["1.0.0"]


def test_symlinks_inside_the_bundle_are_recreated_not_followed(tmp_path: Path) -> None:
    dest = safe_extract(
        open_bundle(bundle_bytes(None, symlink("main.js", "server/index.js"))), tmp_path / "x"
    )
    link = dest / "main.js"
    assert link.is_symlink()
    assert os.readlink(link) == "server/index.js"
    assert link.read_text() == "console.log('hi')\n"


def test_an_existing_non_empty_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="not empty"):
        safe_extract(open_bundle(bundle_bytes()), tmp_path / "x")
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_an_empty_destination_is_filled(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    assert (safe_extract(open_bundle(bundle_bytes()), tmp_path / "x") / "manifest.json").is_file()


def lying_bomb(crc_of_first_kib: bool) -> bytes:
    """1 GiB of zeros declared as a 1 KiB file; the CRC is the real one unless told otherwise."""
    deflated, crc = zeros_deflated(1024)
    if crc_of_first_kib:
        import zlib

        crc = zlib.crc32(bytes(1024))
    liar = RawMember("data/zeros.bin", deflated, crc, 1024)
    manifest = json.dumps(minimal_manifest()).encode()
    return raw_zip([liar], stored=[Entry("manifest.json", manifest), Entry("server/index.js", b"x")])


def test_a_zip_bomb_lying_about_its_size_is_refused_while_writing(tmp_path: Path) -> None:
    bundle = open_bundle(lying_bomb(crc_of_first_kib=False))  # the central directory looks harmless
    assert bundle.unpacked_bytes < 4096
    with pytest.raises(BundleError, match=r"zeros\.bin"):
        safe_extract(bundle, tmp_path / "ext" / "1.0.0")
    assert list((tmp_path / "ext").iterdir()) == []


def test_a_lying_member_never_yields_more_than_it_declares(tmp_path: Path) -> None:
    dest = safe_extract(open_bundle(lying_bomb(crc_of_first_kib=True)), tmp_path / "x")
    assert (dest / "data" / "zeros.bin").stat().st_size == 1024


def test_the_unpack_budget_counts_real_bytes(tmp_path: Path) -> None:
    bundle = open_bundle(bundle_bytes(None, file("a.bin", bytes(3000)), file("b.bin", bytes(3000))))
    squeezed = dataclasses.replace(bundle, limits=BundleLimits(max_unpacked_bytes=4000))
    with pytest.raises(BundleError, match="more data than it declares"):
        safe_extract(squeezed, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []
