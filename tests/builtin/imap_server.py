"""A small IMAP server for the tests: enough of RFC 9051 for a client to LOGIN, APPEND a
draft (with its literal), and LOGOUT. It keeps what was appended, per mailbox.

Runs in a thread on 127.0.0.1; the socket is bound before the thread starts.
"""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

_APPEND = re.compile(rb'^APPEND ("(?:[^"\\]|\\.)*"|\S+) (\([^)]*\) )?("[^"]*" )?\{(\d+)\}$', re.IGNORECASE)


@dataclass
class Mailstore:
    username: str
    password: str
    appended: list[tuple[str, bytes, bytes]] = field(default_factory=list[tuple[str, bytes, bytes]])
    """(mailbox, flags, message) for every APPEND accepted."""


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        store = cast(_Server, self.server).store
        self.reply(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test server ready")
        is_logged_in = False
        while line := self.rfile.readline():
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            command = rest.split(b" ", 1)[0].upper()
            if command == b"CAPABILITY":
                self.reply(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN", tag + b" OK CAPABILITY done")
            elif command == b"LOGIN":
                _, user, password = rest.split(b" ", 2)
                if (user.strip(b'"'), password.strip(b'"')) == (
                    store.username.encode(),
                    store.password.encode(),
                ):
                    is_logged_in = True
                    self.reply(tag + b" OK LOGIN done")
                else:
                    self.reply(tag + b" NO [AUTHENTICATIONFAILED] wrong user name or password")
            elif command == b"APPEND" and is_logged_in and (found := _APPEND.match(rest)):
                self.reply(b"+ Ready for literal data")
                message = self.rfile.read(int(found.group(4)))
                self.rfile.readline()  # the CRLF that ends the command
                mailbox = found.group(1).strip(b'"').decode()
                store.appended.append((mailbox, (found.group(2) or b"").strip(), message))
                self.reply(tag + b" OK APPEND completed")
            elif command == b"LOGOUT":
                self.reply(b"* BYE logging out", tag + b" OK LOGOUT done")
                return
            elif command == b"NOOP":
                self.reply(tag + b" OK NOOP done")
            else:
                self.reply(tag + b" BAD command not understood (or not logged in)")

    def reply(self, *lines: bytes) -> None:
        self.wfile.write(b"".join(line + b"\r\n" for line in lines))
        self.wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, store: Mailstore) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.store = store


@contextmanager
def imap_server(store: Mailstore) -> Generator[int]:
    """Serve ``store`` over IMAP (no TLS); yields the port."""
    server = _Server(store)
    thread = threading.Thread(target=server.serve_forever, name="imap", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
