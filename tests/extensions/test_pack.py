"""pack_bundle and validate_bundle: what goes in, what stays out, and the same bytes every time."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tether.errors import BundleError, InvalidManifest
from tether.extensions.bundle import open_bundle
from tether.extensions.ignore_rules import IgnoreRules
from tether.extensions.pack import pack_bundle, validate_bundle
from tether.extensions.signature import SignatureStatus, sign_bundle

from .bundle_samples import PNG_1PX, make_identity, minimal_manifest, python_manifest_v01


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def node_source(
    root: Path, manifest: dict[str, Any] | None = None, extra: dict[str, str | bytes] | None = None
) -> Path:
    files: dict[str, str | bytes] = {
        "manifest.json": json.dumps(manifest or minimal_manifest(icon="icon.png")),
        "server/index.js": "console.log('hi')\n",
        "icon.png": PNG_1PX,
        "package.json": "{}",
    }
    return write_tree(root, files | (extra or {}))


def names_in(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_packing_is_deterministic(tmp_path: Path) -> None:
    source = node_source(tmp_path / "src")
    first = pack_bundle(source)
    os.utime(source / "server" / "index.js", (0, 0))
    assert pack_bundle(source) == first
    assert names_in(first) == ["icon.png", "manifest.json", "package.json", "server/index.js"]


def test_default_excludes_and_mcpbignore_are_honoured(tmp_path: Path) -> None:
    source = node_source(
        tmp_path / "src",
        extra={
            ".git/HEAD": "ref",
            ".env": "SECRET=1",
            "debug.log": "x",
            "package-lock.json": "{}",
            "node_modules/.bin/tool": "x",
            "node_modules/dep/index.js": "x",
            "server/lib/big.py": "x",
            "server/keep.log": "x",
            "docs/a.md": "x",
            ".mcpbignore": "# comment\n\nserver/lib/\ndocs\n!server/keep.log\n",
        },
    )
    assert names_in(pack_bundle(source)) == [
        "icon.png",
        "manifest.json",
        "node_modules/dep/index.js",
        "package.json",
        "server/index.js",
        "server/keep.log",
    ]


def test_the_executable_bit_survives_packing(tmp_path: Path) -> None:
    source = node_source(tmp_path / "src", extra={"server/run.sh": "#!/bin/sh\n"})
    (source / "server" / "run.sh").chmod(0o775)
    bundle = open_bundle(pack_bundle(source))
    modes = {m.name: m.mode for m in bundle.members}
    assert modes["server/run.sh"] == 0o755
    assert modes["server/index.js"] == 0o644
    info = zipfile.ZipFile(io.BytesIO(bundle.zip_bytes)).getinfo("server/run.sh")
    assert stat.S_ISREG(info.external_attr >> 16)


def test_an_invalid_manifest_is_refused_before_packing(tmp_path: Path) -> None:
    source = node_source(tmp_path / "src", minimal_manifest(name=""))
    with pytest.raises(InvalidManifest):
        pack_bundle(source)


def test_a_directory_without_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        pack_bundle(write_tree(tmp_path, {"server/index.js": "x"}))


def test_a_missing_entry_point_is_refused(tmp_path: Path) -> None:
    source = node_source(tmp_path / "src")
    (source / "server" / "index.js").unlink()
    with pytest.raises(InvalidManifest):
        pack_bundle(source)


def test_symlinks_leaving_the_directory_are_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    source = node_source(tmp_path / "src")
    (source / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(BundleError, match="symlink to outside"):
        pack_bundle(source)


def test_symlinked_files_inside_are_packed_as_files(tmp_path: Path) -> None:
    source = node_source(tmp_path / "src")
    (source / "main.js").symlink_to("server/index.js")
    assert open_bundle(pack_bundle(source)).read("main.js") == b"console.log('hi')\n"


def test_validate_bundle_checks_a_source_directory(tmp_path: Path) -> None:
    report = validate_bundle(node_source(tmp_path / "src"))
    assert report.manifest.name == "hello"
    assert report.warnings == ()
    assert report.signature is None


def test_validate_bundle_warns_about_a_non_png_icon(tmp_path: Path) -> None:
    source = node_source(tmp_path / "src", extra={"icon.png": "GIF89a"})
    assert any("not a PNG" in w for w in validate_bundle(source).warnings)
    packed = tmp_path / "hello.mcpb"
    packed.write_bytes(pack_bundle(source))
    assert any("not a PNG" in w for w in validate_bundle(packed).warnings)


def test_validate_bundle_checks_a_file_and_its_signature(tmp_path: Path) -> None:
    source = write_tree(
        tmp_path / "src",
        {
            "manifest.json": json.dumps(python_manifest_v01()),
            "server/main.py": "print()",
            "server/lib/x.py": "",
        },
    )
    signer = make_identity("Packer")
    path = tmp_path / "files.mcpb"
    path.write_bytes(sign_bundle(pack_bundle(source), signer.cert, signer.key))
    report = validate_bundle(path)
    assert report.manifest.name == "file-manager-python"
    assert report.signature is not None
    assert report.signature.status is SignatureStatus.SELF_SIGNED


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "ignored"),
    [
        (["*.log"], "a/b/c.log", False, True),
        (["/build"], "build/x.js", False, True),
        (["/build"], "src/build/x.js", False, False),
        (["build/"], "build", False, False),
        (["build/"], "src/build/x.js", False, True),
        (["doc/*.md"], "doc/a.md", False, True),
        (["doc/*.md"], "doc/sub/a.md", False, False),
        (["**/test"], "a/b/test/x", False, True),
        (["a/**/z"], "a/z", False, True),
        (["a/**/z"], "a/b/c/z", False, True),
        (["lib/**"], "lib/x/y", False, True),
        (["file?.txt"], "file1.txt", False, True),
        (["[ab].js"], "b.js", False, True),
        (["[!ab].js"], "b.js", False, False),
        (["*.log", "!keep.log"], "keep.log", False, False),
        (["logs", "!logs/keep.log"], "logs/keep.log", False, True),
        (["\\#hash"], "#hash", False, True),
        ([".env*"], ".env.production", False, True),
        (["node_modules/.bin"], "node_modules/.bin/tsc", False, True),
    ],
)
def test_ignore_rules_follow_gitignore(patterns: list[str], path: str, is_dir: bool, ignored: bool) -> None:
    assert IgnoreRules(patterns).ignores(path, is_dir=is_dir) is ignored
