"""The secret store: the system keyring when there is one, else an encrypted file in the data dir.

The file backend keeps a Fernet key in ``secrets.key`` (mode 0600) beside ``secrets.enc``;
that protects against secrets leaking through backups of the database or logs, not against
someone who can read the user's files. ``tether doctor`` says which backend is in use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Generator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
from cryptography.fernet import Fernet, InvalidToken

from tether.core.storage import SecretStore
from tether.errors import StoreError, UsageError

try:
    import fcntl
except ImportError:  # Windows: a single process at a time is the expected use there.
    fcntl = None


class KeyringSecrets:
    def __init__(self, service: str, backend: keyring.backend.KeyringBackend) -> None:
        self._service = service
        self._backend = backend

    @property
    def description(self) -> str:
        return f"system keyring ({type(self._backend).__name__})"

    def get_secret(self, key: str) -> str | None:
        return self._backend.get_password(self._service, key)

    def set_secret(self, key: str, value: str) -> None:
        self._backend.set_password(self._service, key, value)

    def delete_secret(self, key: str) -> None:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            self._backend.delete_password(self._service, key)


class FileSecrets:
    """All secrets in one Fernet-encrypted JSON file, rewritten atomically under a lock."""

    def __init__(self, home: Path) -> None:
        self._path = home / "secrets.enc"
        self._key_path = home / "secrets.key"
        self._lock_path = home / "secrets.lock"

    @property
    def description(self) -> str:
        return f"encrypted file {self._path} (no system keyring found)"

    def get_secret(self, key: str) -> str | None:
        return self._read().get(key)

    def set_secret(self, key: str, value: str) -> None:
        with self._locked():
            secrets = self._read()
            secrets[key] = value
            self._write(secrets)

    def delete_secret(self, key: str) -> None:
        with self._locked():
            secrets = self._read()
            if secrets.pop(key, None) is not None:
                self._write(secrets)

    def _fernet(self) -> Fernet:
        if not self._key_path.exists():
            key = Fernet.generate_key()
            fd = os.open(self._key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(key)
        return Fernet(self._key_path.read_bytes())

    def _read(self) -> dict[str, str]:
        if not self._path.exists():
            return {}
        try:
            return json.loads(self._fernet().decrypt(self._path.read_bytes()))
        except (InvalidToken, ValueError) as error:
            raise StoreError(
                f"{self._path} cannot be decrypted with {self._key_path} ({type(error).__name__}): "
                "restore the key file, or move both files away to start with no secrets"
            ) from None

    def _write(self, secrets: dict[str, str]) -> None:
        token = self._fernet().encrypt(json.dumps(secrets).encode())
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(token)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, self._path)

    @contextlib.contextmanager
    def _locked(self) -> Generator[None]:
        with open(self._lock_path, "a") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def open_secret_store(home: Path, backend: str = "auto") -> SecretStore:
    """``backend`` is 'auto', 'keyring' or 'file' (the ``secrets_backend`` setting)."""
    if backend not in ("auto", "keyring", "file"):
        raise UsageError(f"secrets_backend must be auto, keyring or file, not '{backend}'")
    if backend != "file":
        found = keyring.get_keyring()
        if _is_usable(found):
            service = "tether-" + hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
            return KeyringSecrets(service, found)
        if backend == "keyring":
            raise StoreError("no system keyring is available: set secrets_backend = 'file' or 'auto'")
    home.mkdir(parents=True, exist_ok=True)
    return FileSecrets(home)


def _is_usable(backend: keyring.backend.KeyringBackend) -> bool:
    name = type(backend).__module__ + "." + type(backend).__name__
    if name.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return False
    if name == "keyring.backends.chainer.ChainerBackend":
        return bool(getattr(backend, "backends", ()))
    return True
