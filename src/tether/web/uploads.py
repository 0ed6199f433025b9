"""Bundles uploaded from the browser (or downloaded from a URL it gave), kept in a private temporary
folder between preview and install.

An upload is written under an unguessable id; it is deleted once installed or cancelled,
and the whole folder when the web app stops. Nothing here opens or trusts the file: the
installer judges it (zip-slip, symlinks, sizes, manifest, signature) before anything is kept.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from starlette.datastructures import UploadFile

from tether.errors import BundleError, DownloadFailed

CHUNK_BYTES = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class _Folder:
    upload_id: str
    path: Path


class Uploads:
    def __init__(self) -> None:
        self._root: Path | None = None
        self._files: dict[str, Path] = {}

    async def save(self, upload: UploadFile, *, max_bytes: int) -> tuple[str, Path]:
        """Write the upload to disk; BundleError when it is larger than ``max_bytes``."""
        new = self._new_folder()
        upload_id, folder = new.upload_id, new.path
        name = _UNSAFE.sub("_", Path(upload.filename or "bundle.mcpb").name)[-120:] or "bundle.mcpb"
        path = folder / name
        written = 0
        async with await anyio.open_file(path, "wb") as out:
            while chunk := await upload.read(CHUNK_BYTES):
                written += len(chunk)
                if written > max_bytes:
                    break
                await out.write(chunk)
        if written > max_bytes:
            shutil.rmtree(folder, ignore_errors=True)
            raise BundleError(f"the file is larger than the {max_bytes // (1024 * 1024)} MiB limit")
        if written == 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise BundleError("the file is empty: choose an .mcpb or .dxt bundle")
        self._files[upload_id] = path
        return upload_id, path

    async def download(self, url: str, *, max_bytes: int, sha256: str | None = None) -> tuple[str, Path]:
        """Download a bundle (https, or http from this computer; bounded in size and time) as an
        upload; DownloadFailed or BundleHashMismatch, with nothing kept, when that fails."""
        from tether.extensions.download import downloaded, url_problem

        if (problem := url_problem(url)) is not None:
            raise DownloadFailed(problem)
        async with downloaded(url, max_bytes=max_bytes, sha256=sha256) as fetched:
            folder = self._new_folder()
            name = _UNSAFE.sub("_", Path(urlsplit(url).path).name)[-120:] or "bundle.mcpb"
            path = folder.path / name
            shutil.move(fetched, path)
        self._files[folder.upload_id] = path
        return folder.upload_id, path

    def path(self, upload_id: str) -> Path | None:
        return self._files.get(upload_id)

    def discard(self, upload_id: str) -> None:
        path = self._files.pop(upload_id, None)
        if path is not None:
            shutil.rmtree(path.parent, ignore_errors=True)

    def _new_folder(self) -> _Folder:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="tether-uploads-"))
        upload_id = secrets.token_urlsafe(16)
        folder = self._root / upload_id
        folder.mkdir(mode=0o700)
        return _Folder(upload_id, folder)

    def close(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
        self._root = None
        self._files.clear()
