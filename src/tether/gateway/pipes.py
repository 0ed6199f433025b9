"""The stdio gateway's wire without a worker thread per line.

The SDK's stdio transport reads and writes the standard streams through worker threads: three
thread hops for every call. When both streams are pipes or sockets (how every MCP client
starts a server), tether claims them the way the SDK does, with non-blocking reads and writes
on the event loop instead: the wire moves to private descriptors, fd 0 then reads the null
device and fd 1 writes to stderr, so a stray print or a child process cannot corrupt the
protocol. On a terminal, a file or Windows, ``claimed_stdio`` yields None and the SDK's own
transport is used.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import AsyncIterator, Generator
from contextlib import contextmanager

import anyio

__all__ = ["PipeLines", "PipeWriter", "claimed_stdio"]

_READ_BYTES = 1 << 16


class PipeLines:
    """``async for line in PipeLines(fd)``: the lines read from a non-blocking descriptor."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        pending = bytearray()
        while chunk := await self._read():
            start = 0
            pending += chunk
            while (end := pending.find(b"\n", start)) >= 0:
                yield pending[start : end + 1].decode("utf-8", errors="replace")
                start = end + 1
            del pending[:start]
        if pending:
            yield pending.decode("utf-8", errors="replace")

    async def _read(self) -> bytes:
        while True:
            try:
                return os.read(self._fd, _READ_BYTES)
            except BlockingIOError:
                await anyio.wait_readable(self._fd)


class PipeWriter:
    """Writes text to a non-blocking descriptor, waiting only while the pipe is full."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    async def write(self, text: str) -> None:
        data = memoryview(text.encode())
        while data:
            try:
                data = data[os.write(self._fd, data) :]
            except BlockingIOError:
                await anyio.wait_writable(self._fd)

    async def flush(self) -> None:
        """Nothing is buffered: ``write`` returns once the pipe has taken every byte."""


def _is_pipe_or_socket(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@contextmanager
def claimed_stdio() -> Generator[tuple[PipeLines, PipeWriter] | None]:
    """Claim stdin and stdout for the wire while the block runs; None where that is not possible."""
    if os.name != "posix" or not (_is_pipe_or_socket(0) and _is_pipe_or_socket(1)):
        yield None
        return
    sys.stdout.flush()
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
    finally:
        os.close(null)
    for fd in (wire_in, wire_out):
        os.set_blocking(fd, False)
    try:
        yield PipeLines(wire_in), PipeWriter(wire_out)
    finally:
        for fd, wire in ((0, wire_in), (1, wire_out)):
            os.set_blocking(wire, True)
            os.dup2(wire, fd)
            os.close(wire)
