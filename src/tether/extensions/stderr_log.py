"""A local server's stderr: a rotating log file per source, and its last lines in memory.

The runner hands the child the write end of a pipe and ``pump`` reads the other end.
tether adds its own lifecycle lines (marked ``tether:``) to the file, never to the tail.
Nothing here sees the server's environment, so secrets passed through env are never logged.
"""

from __future__ import annotations

import codecs
import collections
import os
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TextIO

import anyio

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_FILES = 3
DEFAULT_TAIL_LINES = 20
MAX_LINE_CHARS = 8_192
DRAIN_S = 1.0
"""How long to wait for the last lines once the child is gone (a grandchild may hold the pipe)."""
_READ_SIZE = 65_536


class StderrLog:
    """Appends lines to ``path``; past ``max_bytes`` the file becomes ``path.1`` and so on."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        files: int = DEFAULT_FILES,
        tail_lines: int = DEFAULT_TAIL_LINES,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.files = max(files, 1)
        self._tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self._file: TextIO | None = None
        self._size_bytes = 0

    @property
    def tail(self) -> tuple[str, ...]:
        """The last lines the server wrote to stderr, oldest first."""
        return tuple(self._tail)

    def open(self) -> None:
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8", errors="replace")
        self._size_bytes = self._file.tell()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def note(self, text: str) -> None:
        """Write a line of tether's own (a start, an exit, a restart) to the file only."""
        self._write(f"tether: {text}")
        self._flush()

    def add_line(self, line: str) -> None:
        """Record one line the server wrote."""
        line = line.rstrip("\r")
        self._tail.append(line)
        self._write(line)

    @asynccontextmanager
    async def capture(self) -> AsyncGenerator[TextIO]:
        """A pipe to pass as the child's stderr, read into this log while the block runs.

        Close the yielded file as soon as the child is spawned: from then on the end of the
        pipe means the child is gone. Leaving the block waits briefly for the last lines.
        """
        read_fd, write_fd = os.pipe()
        drained = anyio.Event()

        async def pump() -> None:
            try:
                await self.pump(read_fd)
            finally:
                drained.set()

        try:
            with os.fdopen(write_fd, "w") as errlog:
                async with anyio.create_task_group() as readers:
                    readers.start_soon(pump)
                    try:
                        yield errlog
                    finally:
                        errlog.close()
                        try:
                            with anyio.move_on_after(DRAIN_S):
                                await drained.wait()
                        finally:
                            readers.cancel_scope.cancel()
        finally:
            os.close(read_fd)

    async def pump(self, fd: int) -> None:
        """Read the pipe ``fd`` until every writer has closed it; the caller closes ``fd``."""
        os.set_blocking(fd, False)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        try:
            while True:
                await anyio.wait_readable(fd)
                try:
                    chunk = os.read(fd, _READ_SIZE)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                pending += decoder.decode(chunk)
                *lines, pending = pending.split("\n")
                for line in lines:
                    self.add_line(line)
                while len(pending) > MAX_LINE_CHARS:  # a server that never writes a newline
                    self.add_line(pending[:MAX_LINE_CHARS])
                    pending = pending[MAX_LINE_CHARS:]
                self._flush()
        finally:
            pending += decoder.decode(b"", final=True)
            if pending:
                self.add_line(pending)
            self._flush()

    def _write(self, line: str) -> None:
        if self._file is None:
            return
        text = f"{datetime.now():%Y-%m-%d %H:%M:%S} {line}\n"
        size = len(text.encode("utf-8", errors="replace"))
        if self._size_bytes and self._size_bytes + size > self.max_bytes:
            self._rotate()
        self._file.write(text)
        self._size_bytes += size

    def _flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def _rotate(self) -> None:
        self.close()
        if self.files == 1:
            self.path.unlink(missing_ok=True)
        else:
            for index in range(self.files - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index - 1}") if index > 1 else self.path
                if older.exists():
                    older.replace(self.path.with_name(f"{self.path.name}.{index}"))
        self.open()
