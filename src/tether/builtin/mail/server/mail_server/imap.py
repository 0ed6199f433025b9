"""Put a copy of a draft in an IMAP account's Drafts folder (stdlib ``imaplib``: LOGIN, APPEND).

APPEND with the ``\\Draft`` flag only: nothing is sent. Plain (unencrypted) IMAP is allowed
only to this machine, where a local bridge (e.g. Proton Mail Bridge) listens.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .models import ImapCopy

TIMEOUT_S = 20.0
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class ImapAccount:
    host: str
    port: int
    username: str
    password: str
    security: str  # ssl | starttls | plain
    folder: str

    def append(self, message: bytes) -> ImapCopy:
        if self.security not in ("ssl", "starttls", "plain"):
            return self._failed(f"unknown security '{self.security}': use ssl, starttls or plain")
        if self.security == "plain" and self.host not in _LOOPBACK:
            return self._failed("plain IMAP sends the password unencrypted: allowed only to this machine")
        try:
            client = self._connect()
            try:
                client.login(self.username, self.password)
                status, detail = client.append(  # pyright: ignore[reportUnknownVariableType]
                    _quoted(self.folder), r"(\Draft)", imaplib.Time2Internaldate(time.time()), message
                )
                if status != "OK":
                    return self._failed(f"the server refused the draft: {_said(detail)}")
            finally:
                with contextlib.suppress(imaplib.IMAP4.error, OSError):
                    client.logout()
        except imaplib.IMAP4.error as error:
            return self._failed(f"the server said: {error}")
        except (OSError, ssl.SSLError) as error:
            return self._failed(f"cannot reach {self.host}:{self.port}: {error}")
        return ImapCopy(status="appended", folder=self.folder)

    def _connect(self) -> imaplib.IMAP4:
        if self.security == "ssl":
            return imaplib.IMAP4_SSL(
                self.host, self.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT_S
            )
        client = imaplib.IMAP4(self.host, self.port, timeout=TIMEOUT_S)
        if self.security == "starttls":
            client.starttls(ssl_context=ssl.create_default_context())
        return client

    def _failed(self, detail: str) -> ImapCopy:
        return ImapCopy(status="failed", folder=self.folder, detail=detail)


def _quoted(folder: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(detail: Sequence[object]) -> str:
    first = detail[0] if detail else ""
    return first.decode(errors="replace") if isinstance(first, bytes) else str(first)
