"""Listening sockets say TCP, so asyncio turns Nagle off on every connection they accept.

A socket made with protocol 0 is TCP too, but asyncio sets TCP_NODELAY only when the socket
names IPPROTO_TCP; with Nagle on, each HTTP response that uvicorn writes in two parts waited
about 40 ms for the client's delayed ACK (every gateway call over HTTP did).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import anyio
import pytest

from tether.cli.system import _bind  # pyright: ignore[reportPrivateUsage]
from tether.demo.tasks_server import bind_loopback

pytestmark = pytest.mark.anyio


class Accepted(asyncio.Protocol):
    """Records whether each accepted connection has Nagle turned off."""

    def __init__(self, nodelay: list[bool], seen: anyio.Event) -> None:
        self.nodelay = nodelay
        self.seen = seen

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock: socket.socket = transport.get_extra_info("socket")
        self.nodelay.append(bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
        self.seen.set()
        transport.close()


@pytest.mark.parametrize("listen", [bind_loopback, lambda: _bind("127.0.0.1", 0)], ids=["demo", "serve"])
async def test_accepted_connections_have_nagle_off(listen: Callable[[], socket.socket]) -> None:
    listener = listen()
    nodelay: list[bool] = []
    seen = anyio.Event()
    server = await asyncio.get_running_loop().create_server(lambda: Accepted(nodelay, seen), sock=listener)
    try:
        with anyio.fail_after(10):
            stream = await anyio.connect_tcp("127.0.0.1", listener.getsockname()[1])
            await seen.wait()
            await stream.aclose()
    finally:
        server.close()
    assert nodelay == [True]
