"""Pack a directory into a bundle like ``mcpb pack``, and validate a bundle or a directory.

``pack_bundle`` checks the manifest first, honours the CLI's default excludes and
``.mcpbignore``, and writes a deterministic zip (sorted names, fixed timestamps, 0o644/0o755
modes) that ``open_bundle`` then re-checks. Reads the source directory; writes nothing.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509

from tether.errors import BundleError, FieldProblem, InvalidManifest
from tether.extensions.bundle import BundleLimits, open_bundle
from tether.extensions.ignore_rules import IgnoreRules
from tether.extensions.manifest import is_safe_relative_path, validate_manifest
from tether.extensions.manifest_model import Manifest
from tether.extensions.signature import SignatureResult

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class BundleReport:
    """What ``validate_bundle`` found. ``signature`` is None for a directory."""

    manifest: Manifest
    warnings: tuple[str, ...]
    signature: SignatureResult | None = None


def pack_bundle(src_dir: str | os.PathLike[str], *, limits: BundleLimits | None = None) -> bytes:
    """The bytes of an unsigned bundle made from ``src_dir``.

    Raises InvalidManifest for a bad manifest.json and BundleError for anything else (no
    manifest, a symlinked directory, a symlink leaving the directory, over the limits).
    """
    limits = limits or BundleLimits()
    root = Path(src_dir)
    _read_manifest(root)
    files = _collect_files(root)
    if len(files) > limits.max_members:
        raise BundleError(f"{len(files)} files to pack, more than the limit of {limits.max_members}")
    total = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in files:
            data = path.read_bytes()
            total += len(data)
            if total > limits.max_unpacked_bytes:
                raise BundleError(f"the files to pack exceed the {limits.max_unpacked_bytes} byte limit")
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix, so the mode bits below are read
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    packed = buffer.getvalue()
    open_bundle(packed, limits=limits)  # the same checks any bundle gets
    return packed


def validate_bundle(
    path: str | os.PathLike[str],
    *,
    trusted_roots: Sequence[x509.Certificate] = (),
    now: datetime | None = None,
    limits: BundleLimits | None = None,
) -> BundleReport:
    """Check a bundle file (structure, manifest, signature) or a source directory (manifest,
    entry point, icon). Raises BundleError / InvalidManifest; warnings are in the report."""
    target = Path(path)
    if target.is_dir():
        manifest, warnings = _read_manifest(target)
        entry = target / manifest.server.entry_point
        if not entry.is_file():
            raise InvalidManifest(
                [FieldProblem("server.entry_point", f"'{manifest.server.entry_point}' not found")]
            )
        icon = target / manifest.icon if manifest.icon and is_safe_relative_path(manifest.icon) else None
        icon_bytes = icon.read_bytes()[:8] if icon is not None and icon.is_file() else None
        if icon is not None and icon_bytes is None:
            warnings.append(str(FieldProblem("icon", f"'{manifest.icon}' not found")))
        return BundleReport(manifest, tuple(warnings + _icon_warnings(icon_bytes)))
    bundle = open_bundle(target, limits=limits)
    try:
        icon_bytes = bundle.read_icon()
    except BundleError as exc:
        icon_bytes, extra = None, [str(exc)]
    else:
        extra = _icon_warnings(icon_bytes)
    signature = bundle.verify_signature(trusted_roots=trusted_roots, now=now)
    return BundleReport(bundle.manifest, (*bundle.warnings, *extra), signature)


def _icon_warnings(icon_bytes: bytes | None) -> list[str]:
    if icon_bytes is not None and not icon_bytes.startswith(_PNG_MAGIC):
        return [str(FieldProblem("icon", "not a PNG file"))]
    return []


def _read_manifest(root: Path) -> tuple[Manifest, list[str]]:
    path = root / "manifest.json"
    if not path.is_file():
        raise BundleError(f"no manifest.json in '{root}': run `mcpb init` or write one")
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"manifest.json is not valid JSON: {exc}") from exc
    return validate_manifest(raw)


def _collect_files(root: Path) -> list[tuple[str, Path]]:
    ignore_file = root / ".mcpbignore"
    rules = IgnoreRules.for_pack(ignore_file.read_text("utf-8") if ignore_file.is_file() else None)
    real_root = os.path.realpath(root)
    found: list[tuple[str, Path]] = []
    for current, dirnames, filenames in os.walk(root):
        base = Path(current)
        relative_dir = base.relative_to(root).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        kept: list[str] = []
        for dirname in sorted(dirnames):
            name = prefix + dirname
            if rules.ignores(name, is_dir=True):
                continue
            if (base / dirname).is_symlink():
                raise BundleError(f"'{name}' is a symlinked directory: copy its files instead")
            kept.append(dirname)
        dirnames[:] = kept
        for filename in filenames:
            name = prefix + filename
            path = base / filename
            if rules.ignores(name):
                continue
            real = os.path.realpath(path)
            if os.path.commonpath([real_root, real]) != real_root:
                raise BundleError(f"'{name}' is a symlink to outside '{root}'")
            if not os.path.isfile(real):
                raise BundleError(f"'{name}' is not a regular file")
            found.append((name, path))
    return sorted(found)
