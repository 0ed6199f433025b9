"""A real MCP server for the sandbox tests: each tool tries to reach something and says how it went.

Tools: read_file, write_file, connect (TCP), connect_unix, environment (variable names),
getenv, limits (rlimits in force), allocate (memory), spawn (child processes at once).
A failed attempt comes back as a tool error with the OS's reason (a ``ToolError``: no traceback).
"""

from __future__ import annotations

import os
import resource
import socket
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("probe")


@contextmanager
def reported() -> Generator[None]:
    """Turn what the OS refused into an anticipated tool error (logged in one line, fast)."""
    try:
        yield
    except (OSError, MemoryError) as error:
        raise ToolError(f"{type(error).__name__}: {error}") from None


@server.tool()
def read_file(path: str) -> str:
    """The text of ``path``."""
    with reported():
        return Path(path).read_text()


@server.tool()
def write_file(path: str, text: str) -> str:
    """Write ``text`` to ``path``."""
    with reported():
        Path(path).write_text(text)
        return "written"


@server.tool()
def connect(host: str, port: int) -> str:
    """Open a TCP connection to ``host:port`` and close it."""
    with reported(), socket.create_connection((host, port), timeout=5):
        return "connected"


@server.tool()
def connect_unix(path: str) -> str:
    """Connect to the Unix socket at ``path`` and close it."""
    with reported(), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(path)
        return "connected"


@server.tool()
def environment() -> list[str]:
    """The names of every environment variable this server sees."""
    return sorted(os.environ)


@server.tool()
def getenv(name: str) -> str:
    """The value of ``name``, or an empty string."""
    return os.environ.get(name, "")


@server.tool()
def limits() -> dict[str, int]:
    """The soft rlimits in force: data (memory) and nproc (processes)."""
    return {
        "data": resource.getrlimit(resource.RLIMIT_DATA)[0],
        "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
    }


@server.tool()
def allocate(size_bytes: int) -> str:
    """Allocate and touch ``size_bytes`` of memory, then free it."""
    with reported():
        block = bytearray(size_bytes)
        block[-1] = 1
        return f"allocated {len(block)} bytes"


@server.tool()
def spawn(count: int) -> int:
    """Start up to ``count`` child processes at once; return how many the system allowed."""
    read_end, write_end = os.pipe()
    children: list[int] = []
    try:
        for _ in range(count):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:  # the child waits until the parent closes the pipe, then exits
                os.close(write_end)
                os.read(read_end, 1)
                os._exit(0)
            children.append(pid)
    finally:
        os.close(write_end)
        os.close(read_end)
        for pid in children:
            os.waitpid(pid, 0)
    return len(children)


if __name__ == "__main__":
    server.run()
