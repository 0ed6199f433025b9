"""Run the reference tasks server (and other small servers) on 127.0.0.1 with real uvicorn.

``serve_tasks`` binds a free port first, so the server knows its own URL (its OAuth issuer)
and clients can connect at once: the listening socket queues them until uvicorn accepts.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import anyio
import httpx2
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.types import ASGIApp

from tests.servers.asking_server import Asking, http_app
from tether.connectors.signin import Presenter
from tether.demo.tasks_server import TasksServer, bind_loopback, build_tasks_server

WAIT_S = 20.0


@asynccontextmanager
async def serve_app(
    build: Callable[[str], ASGIApp], *, tls: tuple[Path, Path] | None = None
) -> AsyncGenerator[str]:
    """Serve ``build(base_url)`` on a free port of 127.0.0.1; yield the base URL.

    ``tls`` (certificate file, key file) serves https instead of http."""
    sock = bind_loopback()
    base_url = f"{'https' if tls else 'http'}://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(
            build(base_url),
            log_level="error",
            lifespan="on",
            access_log=False,
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
        )
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        try:
            yield base_url
        finally:
            server.should_exit = True
    sock.close()


@asynccontextmanager
async def asking_over_http() -> AsyncGenerator[tuple[str, Asking]]:
    """tests/servers/asking_server.py over Streamable HTTP; yields its MCP URL and its state."""
    asking = Asking()

    def build(base_url: str) -> ASGIApp:
        return http_app(asking)

    async with anyio.create_task_group() as tg:
        asking.tg = tg
        async with serve_app(build) as base_url:
            yield base_url + "/mcp", asking
        tg.cancel_scope.cancel()


@asynccontextmanager
async def serve_tasks(**options: Any) -> AsyncGenerator[TasksServer]:
    holder: list[TasksServer] = []

    def build(base_url: str) -> ASGIApp:
        holder.append(build_tasks_server(base_url, **options))
        return holder[0].app

    async with serve_app(build):
        yield holder[0]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that nobody vouches for: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


class Browser:
    """Plays the person at the browser: follows the authorization URL, answers the consent form."""

    def __init__(self, *, user: str = "alice", decision: str = "approve") -> None:
        self.user = user
        self.decision = decision
        self.visits = 0
        self.tamper: Callable[[str], str] | None = None
        """Rewrites the final redirect before it is delivered (to test bad answers)."""

    @property
    def present(self) -> Presenter:
        return self._present

    async def _present(self, url: str) -> None:
        self.visits += 1
        async with httpx2.AsyncClient(follow_redirects=False, timeout=WAIT_S) as http:
            answer = await http.get(url)
            location = urljoin(url, answer.headers.get("location", ""))
            if urlsplit(location).path == "/consent":
                request_id = parse_qs(urlsplit(location).query)["request"][0]
                page = await http.get(location)
                assert "Allow" in page.text
                answer = await http.post(
                    urljoin(location, "/consent"),
                    data={"request": request_id, "user": self.user, "decision": self.decision},
                )
                location = urljoin(location, answer.headers["location"])
            if self.tamper is not None:
                location = self.tamper(location)
            await http.get(location)
