"""Which certificates make a bundle's signature "trusted": the system's roots and the user's own.

Read once per install, only when the bundle is signed. A file that cannot be read is an
error the user can fix (``trusted_signers``); a missing system bundle just means none.
"""

from __future__ import annotations

import re
import ssl
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from tether.errors import UsageError

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def load_trusted_roots(trusted_signers: str | Path | None = None) -> list[x509.Certificate]:
    """The system's root certificates plus those in the PEM file ``trusted_signers``."""
    roots = _system_roots()
    if trusted_signers:
        path = Path(trusted_signers).expanduser()
        try:
            extra = _each_certificate(path.read_bytes())
        except OSError as error:
            raise UsageError(
                f"trusted_signers points at {path}, which is not a readable PEM file of certificates "
                f"({error.strerror or error}): fix the setting or the file"
            ) from error
        if not extra:
            raise UsageError(f"trusted_signers points at {path}, which holds no PEM certificate")
        roots += extra
    return roots


def _system_roots() -> list[x509.Certificate]:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            try:
                return _each_certificate(Path(candidate).read_bytes())
            except OSError:
                continue
    return []


def _each_certificate(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in ``pem`` that parses; system bundles hold a few odd ones (negative
    serial numbers) that ``cryptography`` warns about and will refuse: they are skipped."""
    found: list[x509.Certificate] = []
    for block in _PEM_BLOCK.findall(pem):
        with warnings.catch_warnings():
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            try:
                found.append(x509.load_pem_x509_certificate(block))
            except (ValueError, CryptographyDeprecationWarning):
                continue
    return found
