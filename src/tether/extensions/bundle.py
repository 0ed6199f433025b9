"""Open an .mcpb/.dxt bundle without unpacking it, refuse hostile ones, unpack safely.

``open_bundle`` judges every member from the zip's central directory (names, types, sizes,
count) and reads only manifest.json and symlink targets. ``safe_extract`` streams members to
a fresh directory, counting real bytes, and leaves nothing behind when it fails.
"""

from __future__ import annotations

import enum
import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from cryptography import x509

from tether.errors import BundleError, FieldProblem, InvalidManifest
from tether.extensions import zip_paths
from tether.extensions.manifest import validate_manifest
from tether.extensions.manifest_model import Manifest, ServerType
from tether.extensions.signature import SignatureBlock, SignatureResult, split_signature, verify_signature

MIB = 1024 * 1024
_SUPPORTED_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_SPECIAL_FILES = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}
_CHUNK_BYTES = 64 * 1024

ChunkWriter = Callable[[IO[bytes], bytes], object]
"""Writes one chunk of a member to its file: the seam where a test makes the disk fill up."""


def write_chunk(out: IO[bytes], chunk: bytes) -> object:
    return out.write(chunk)


@dataclass(frozen=True, slots=True)
class BundleLimits:
    max_members: int = 10_000
    max_unpacked_bytes: int = 512 * MIB
    max_file_bytes: int = 512 * MIB
    max_manifest_bytes: int = 1 * MIB
    max_icon_bytes: int = 5 * MIB
    max_link_target_bytes: int = 4096


class MemberKind(enum.StrEnum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"


@dataclass(frozen=True, slots=True)
class Member:
    """One zip member. ``name`` has no trailing '/'; ``mode`` is the permission bits or 0."""

    name: str
    kind: MemberKind
    size_bytes: int
    mode: int = 0
    link_target: str | None = None

    @property
    def is_executable(self) -> bool:
        return bool(self.mode & 0o111)


@dataclass(frozen=True, slots=True)
class Bundle:
    """An opened, checked bundle held in memory. ``data`` is the file as given (zip plus any
    signature block); ``zip_bytes`` the zip alone."""

    data: bytes
    zip_bytes: bytes
    signature_block: SignatureBlock | None
    manifest: Manifest
    warnings: tuple[str, ...]
    members: tuple[Member, ...]
    limits: BundleLimits

    @property
    def names(self) -> frozenset[str]:
        """Names of files and symlinks (not directories), for ``LaunchContext.bundle_members``."""
        return frozenset(m.name for m in self.members if m.kind is not MemberKind.DIRECTORY)

    @property
    def unpacked_bytes(self) -> int:
        return sum(m.size_bytes for m in self.members)

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """A file member's bytes, following in-bundle symlinks; BundleError if absent or too big."""
        member = self.member(name)
        if member is not None and member.kind is MemberKind.SYMLINK:
            target = zip_paths.resolve_link(name, _links(self.members))
            member = self.member(target) if target is not None else None
        if member is None or member.kind is not MemberKind.FILE:
            raise BundleError(f"'{name}' is not a file in the bundle")
        limit = self.limits.max_unpacked_bytes if max_bytes is None else max_bytes
        with zipfile.ZipFile(io.BytesIO(self.zip_bytes)) as archive:
            return _read_member(archive, archive.getinfo(_zip_name(archive, member.name)), limit)

    def read_icon(self, size_px: int | None = None, theme: str | None = None) -> bytes | None:
        """The icon's bytes: the ``icons`` entry closest to ``size_px`` (and ``theme``), else ``icon``.

        None when the manifest names no icon inside the bundle or the file is missing.
        """
        candidates = [i for i in self.manifest.icons if not i.src.startswith("https://")]
        if theme is not None:
            candidates = [i for i in candidates if i.theme in (theme, None)] or candidates
        if candidates and size_px is not None:
            candidates.sort(key=lambda i: (abs(i.width_px - size_px), -i.width_px))
        elif candidates:
            candidates.sort(key=lambda i: -i.width_px)
        sources = [i.src for i in candidates]
        if self.manifest.icon and not self.manifest.icon.startswith("https://"):
            sources.append(self.manifest.icon)
        for source in sources:
            if source in self.names:
                return self.read(source, self.limits.max_icon_bytes)
        return None

    def verify_signature(
        self, *, trusted_roots: Sequence[x509.Certificate] = (), now: datetime | None = None
    ) -> SignatureResult:
        return verify_signature(self.data, trusted_roots=trusted_roots, now=now)


def open_bundle(source: str | os.PathLike[str] | bytes, *, limits: BundleLimits | None = None) -> Bundle:
    """Read and check a bundle (path or bytes) without writing anything.

    Raises BundleError (code ``invalid_bundle``) or InvalidManifest (``invalid_manifest``).
    """
    limits = limits or BundleLimits()
    data = source if isinstance(source, bytes) else _read_file(Path(source), limits)
    if len(data) > limits.max_file_bytes:
        raise BundleError(
            f"the bundle is {_mib(len(data))}, more than the {_mib(limits.max_file_bytes)} limit"
        )
    zip_bytes, block = split_signature(data)
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            members = _check_members(archive.infolist(), archive, limits)
            raw_manifest = _read_manifest(archive, members, limits)
    except zipfile.BadZipFile as exc:
        raise BundleError(f"not a valid zip archive ({exc}): an .mcpb bundle is a zip file") from exc
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise BundleError(f"the zip archive cannot be read: {exc}") from exc
    manifest, manifest_warnings = validate_manifest(raw_manifest)
    warnings = [*manifest_warnings, *_check_contents(manifest, members)]
    return Bundle(data, zip_bytes, block, manifest, tuple(warnings), tuple(members), limits)


def safe_extract(
    bundle: Bundle, dest_dir: str | os.PathLike[str], *, write: ChunkWriter = write_chunk
) -> Path:
    """Unpack ``bundle`` into ``dest_dir`` (absent or empty) and return it.

    Members are written to a temporary sibling and moved in place at the end, so a failure
    (an OSError such as a full disk included) leaves nothing behind. Real bytes are counted
    against the declared sizes and limits; files get 0o644 or 0o755 (less the umask); symlinks
    are made last and never written through.
    """
    dest = Path(dest_dir)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BundleError(f"'{dest}' already exists and is not empty")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        _write_members(bundle, staging, write)
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


# -- checking members ------------------------------------------------------------------------


def _read_file(path: Path, limits: BundleLimits) -> bytes:
    try:
        info = path.stat()
    except OSError as exc:
        raise BundleError(f"cannot read '{path}': {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise BundleError(f"'{path}' is not a regular file")
    if info.st_size > limits.max_file_bytes:
        raise BundleError(
            f"'{path}' is {_mib(info.st_size)}, more than the {_mib(limits.max_file_bytes)} limit"
        )
    with path.open("rb") as handle:
        return handle.read(limits.max_file_bytes + 1)


def _check_members(
    infos: list[zipfile.ZipInfo], archive: zipfile.ZipFile, limits: BundleLimits
) -> list[Member]:
    if len(infos) > limits.max_members:
        raise BundleError(f"the bundle has {len(infos)} members, more than the limit of {limits.max_members}")
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_unpacked_bytes:
        raise BundleError(
            f"the bundle would unpack to {_mib(declared)}, "
            f"more than the {_mib(limits.max_unpacked_bytes)} limit"
        )
    members: list[Member] = []
    seen: dict[str, str] = {}
    for info in infos:
        member = _member(info, archive, limits)
        key = zip_paths.clash_key(member.name)
        if key in seen:
            raise BundleError(f"'{member.name}' appears twice in the bundle (as '{seen[key]}' too)")
        seen[key] = member.name
        members.append(member)
    _check_tree(members)
    return members


def _member(info: zipfile.ZipInfo, archive: zipfile.ZipFile, limits: BundleLimits) -> Member:
    name = info.filename
    problem = zip_paths.name_problem(name)
    if problem:
        raise BundleError(f"member '{name}' has {problem}: refusing a path that could escape the bundle")
    if info.flag_bits & 0x1:
        raise BundleError(f"member '{name}' is encrypted")
    if info.compress_type not in _SUPPORTED_COMPRESSION:
        raise BundleError(f"member '{name}' uses unsupported compression method {info.compress_type}")
    mode = info.external_attr >> 16
    file_type = stat.S_IFMT(mode)
    if file_type in _SPECIAL_FILES:
        raise BundleError(f"member '{name}' is {_SPECIAL_FILES[file_type]}")
    clean = name.removesuffix("/")
    if name.endswith("/") or file_type == stat.S_IFDIR:
        return Member(clean, MemberKind.DIRECTORY, 0, stat.S_IMODE(mode))
    if file_type == stat.S_IFLNK:
        raw = _read_member(archive, info, limits.max_link_target_bytes)
        try:
            target = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BundleError(f"symlink '{name}' has a target that is not UTF-8") from exc
        return Member(clean, MemberKind.SYMLINK, info.file_size, 0, target)
    return Member(clean, MemberKind.FILE, info.file_size, stat.S_IMODE(mode))


def _check_tree(members: list[Member]) -> None:
    by_key = {zip_paths.clash_key(m.name): m for m in members}
    links = _links(members)
    for member in members:
        for parent in zip_paths.parents(member.name):
            above = by_key.get(zip_paths.clash_key(parent))
            if above is not None and above.kind is MemberKind.FILE:
                raise BundleError(f"'{member.name}' is inside '{parent}', which is a file")
            if above is not None and above.kind is MemberKind.SYMLINK:
                raise BundleError(f"'{member.name}' is inside the symlink '{parent}'")
        if member.kind is MemberKind.SYMLINK and zip_paths.resolve_link(member.name, links) is None:
            raise BundleError(
                f"symlink '{member.name}' -> '{member.link_target}' points outside the bundle (or loops)"
            )


def _links(members: Sequence[Member]) -> dict[str, str]:
    return {m.name: m.link_target for m in members if m.link_target is not None}


def _read_manifest(archive: zipfile.ZipFile, members: list[Member], limits: BundleLimits) -> object:
    manifest = next((m for m in members if m.name == "manifest.json"), None)
    if manifest is None or manifest.kind is not MemberKind.FILE:
        nested = next((m.name for m in members if m.name.endswith("/manifest.json")), None)
        hint = f" (found '{nested}': pack the folder's contents, not the folder)" if nested else ""
        raise BundleError(f"no manifest.json at the top of the bundle{hint}")
    raw = _read_member(archive, archive.getinfo("manifest.json"), limits.max_manifest_bytes)
    try:
        return json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise BundleError("manifest.json is not UTF-8 text") from exc
    except RecursionError as exc:
        raise BundleError("manifest.json is nested too deeply") from exc
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"manifest.json is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc


def _reject_constant(name: str) -> object:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def _check_contents(manifest: Manifest, members: list[Member]) -> list[str]:
    files = {m.name for m in members if m.kind is not MemberKind.DIRECTORY}
    entry = manifest.server.entry_point.removeprefix("./")
    if entry not in files:
        problem = FieldProblem("server.entry_point", f"'{entry}' is not in the bundle")
        raise InvalidManifest([problem])
    warnings: list[str] = []
    icons = [manifest.icon] if manifest.icon else []
    icons += [icon.src for icon in manifest.icons]
    for src in icons:
        if not src.startswith("https://") and src not in files:
            warnings.append(str(FieldProblem("icon", f"'{src}' is not in the bundle")))
    if manifest.server.type is ServerType.UV:
        if "pyproject.toml" not in files:
            warnings.append("a uv server without pyproject.toml: uv will install no dependencies")
        if any(name.startswith(("server/lib/", "server/venv/")) for name in files):
            warnings.append("a uv server should not bundle server/lib or server/venv")
    return warnings


# -- reading and writing ---------------------------------------------------------------------


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    if info.file_size > max_bytes:
        raise BundleError(
            f"'{info.filename}' is {_mib(info.file_size)}, more than the {_mib(max_bytes)} limit"
        )
    buffer = io.BytesIO()
    _copy_member(archive, info, buffer, max_bytes)
    return buffer.getvalue()


def _copy_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    out: IO[bytes],
    budget_bytes: int,
    write: ChunkWriter = write_chunk,
) -> int:
    """Copy one member, stopping as soon as it yields more than declared or than the budget."""
    written = 0
    try:
        with archive.open(info) as source:
            while chunk := source.read(_CHUNK_BYTES):
                written += len(chunk)
                if written > info.file_size or written > budget_bytes:
                    raise BundleError(
                        f"'{info.filename}' holds more data than it declares: refusing a zip bomb"
                    )
                write(out, chunk)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise BundleError(f"'{info.filename}' is damaged: {exc}") from exc
    if written != info.file_size:
        raise BundleError(f"'{info.filename}' is shorter than it declares")
    return written


def _write_members(bundle: Bundle, root: Path, write: ChunkWriter) -> None:
    budget = bundle.limits.max_unpacked_bytes
    with zipfile.ZipFile(io.BytesIO(bundle.zip_bytes)) as archive:
        for member in bundle.members:
            target = root.joinpath(*member.name.split("/"))
            if member.kind is MemberKind.DIRECTORY:
                target.mkdir(mode=0o755, parents=True, exist_ok=True)
            elif member.kind is MemberKind.FILE:
                target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                mode = 0o755 if member.is_executable else 0o644
                flags = (
                    os.O_WRONLY
                    | os.O_CREAT
                    | os.O_EXCL
                    | getattr(os, "O_NOFOLLOW", 0)
                    | getattr(os, "O_BINARY", 0)
                )
                with os.fdopen(os.open(target, flags, mode), "wb") as out:
                    budget -= _copy_member(
                        archive, archive.getinfo(_zip_name(archive, member.name)), out, budget, write
                    )
    for member in bundle.members:
        if member.kind is MemberKind.SYMLINK and member.link_target is not None:
            target = root.joinpath(*member.name.split("/"))
            target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            os.symlink(member.link_target, target)
    real_root = os.path.realpath(root)
    for member in bundle.members:
        if member.kind is MemberKind.SYMLINK:
            real = os.path.realpath(root.joinpath(*member.name.split("/")))
            if os.path.commonpath([real_root, real]) != real_root:
                raise BundleError(f"symlink '{member.name}' points outside the bundle")


def _zip_name(archive: zipfile.ZipFile, name: str) -> str:
    """The member's name in the zip (directories keep their '/')."""
    return name if name in archive.NameToInfo else name + "/"


def _mib(size_bytes: int) -> str:
    return f"{size_bytes / MIB:.1f} MB"
