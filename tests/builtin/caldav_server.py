"""A real CalDAV server for the tests: Radicale's WSGI app on 127.0.0.1, in a thread.

The socket is bound before the thread starts, so no wait is needed; any user name and
password are accepted (``auth.type = none``); collections live in a temporary folder.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import radicale  # pyright: ignore[reportMissingTypeStubs]
import radicale.config  # pyright: ignore[reportMissingTypeStubs]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class _ThreadedServer(WSGIServer):
    daemon_threads = True


@contextmanager
def radicale_server(storage: Path) -> Generator[str]:
    """Serve CalDAV from ``storage``; yields the server's URL."""
    configuration: Any = radicale.config.load()
    configuration.update(
        {
            "storage": {"filesystem_folder": str(storage)},
            "auth": {"type": "none"},
            "logging": {"level": "error"},
        },
        "test",
        privileged=True,
    )
    application: Any = radicale.Application(configuration)  # pyright: ignore[reportPrivateImportUsage]
    server = make_server(
        "127.0.0.1", 0, application, server_class=_ThreadedServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="radicale", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
