"""Real processes for the gateway tests: a data dir with stdio sources, ``tether`` commands,
and the HTTP gateway on uvicorn at 127.0.0.1 on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import uvicorn
from mcp import StdioServerParameters
from starlette.types import ASGIApp

from tether.app import App, open_app
from tether.config import load_settings
from tether.demo.tasks_server import bind_loopback
from tether.gateway.http import GatewayHttp
from tether.gateway.server import Gateway
from tether.types import Actor, Effect, SourceConfig

SERVERS = Path(__file__).resolve().parents[1] / "servers"
ECHO = (sys.executable, str(SERVERS / "echo_server.py"))
CONFORMANCE = (sys.executable, str(SERVERS / "conformance_server.py"))
ME = Actor("cli", "test")
WAIT_S = 30.0


@dataclass
class Home:
    path: Path
    env: dict[str, str]

    def tether(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "tether", *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"tether {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def mcp(self, *args: str) -> StdioServerParameters:
        return StdioServerParameters(
            command=sys.executable, args=["-m", "tether", "mcp", *args], env=self.env
        )

    async def configure(self, sources: Mapping[str, Sequence[str]], *, allow: Sequence[str] = ()) -> None:
        """Add ``sources`` (name -> command); start them to allow the tools in ``allow``."""
        async with open_app(load_settings(self.env)) as app:
            for name, command in sources.items():
                await app.add_source(ME, SourceConfig(name=name, command=command[0], args=tuple(command[1:])))
            if allow:
                await app.start_sources()
                for tool in allow:
                    await app.host.set_policy(ME, await app.host.resolve(tool), Effect.ALLOW)


def make_home(path: Path) -> Home:
    env = {
        **os.environ,
        "TETHER_HOME": str(path),
        "TETHER_CONFIG": str(path / "tether.toml"),
        "TETHER_SECRETS_BACKEND": "file",
        "TETHER_APPROVAL_TIMEOUT_S": "30",
        "NO_COLOR": "1",
    }
    return Home(path, env)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.is_listening = anyio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.is_listening.set()


@dataclass
class Served:
    url: str
    app: App
    http: GatewayHttp


@asynccontextmanager
async def listening(app: ASGIApp) -> AsyncGenerator[str]:
    """``app`` on uvicorn at 127.0.0.1 on a free port; yields its base URL."""
    sock = bind_loopback()
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: server.serve(sockets=[sock]))
            with anyio.fail_after(WAIT_S):
                await server.is_listening.wait()
            try:
                yield f"http://127.0.0.1:{sock.getsockname()[1]}"
            finally:
                server.should_exit = True
    finally:
        sock.close()


@asynccontextmanager
async def serving(home: Home) -> AsyncGenerator[Served]:
    """The HTTP gateway over ``home``'s sources, on uvicorn at 127.0.0.1 (a free port)."""
    async with open_app(load_settings(home.env)) as app:
        await app.start_sources()
        gateway_http = GatewayHttp(Gateway(app.host, caller=None), app.store)
        async with gateway_http.running(), listening(gateway_http) as base:
            yield Served(f"{base}/mcp", app, gateway_http)
