"""A throwaway Redis for the tests of team mode's event relay, started once per test session.

``redis_server_url`` runs ``redis-server`` (from PATH or /usr/bin; Debian's ``redis-server``
package) on 127.0.0.1 on a free port, without persistence. The relay names its channel per
database, so tests sharing the server do not hear each other.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

import pytest

START_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_binary() -> str | None:
    return shutil.which("redis-server") or next(
        (path for path in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(path).is_file()), None
    )


@contextmanager
def running_redis(binary: str, port: int) -> Generator[str]:
    """A redis-server on 127.0.0.1:``port`` for the block; its URL."""
    workdir = tempfile.mkdtemp(prefix="tether-redis-")
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(
        [binary, *options, "--dir", workdir, "--loglevel", "notice"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Stops a server that never gets ready, which ends the read below.
    watchdog = threading.Timer(START_TIMEOUT_S, server.kill)
    watchdog.start()
    try:
        assert server.stdout is not None
        log: list[str] = []
        for line in server.stdout:
            log.append(line)
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError("redis-server did not start:\n" + "".join(log))
        watchdog.cancel()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        watchdog.cancel()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_binary_path() -> str:
    binary = redis_binary()
    if binary is None:
        pytest.skip("Redis is not installed (redis-server): apt-get install redis-server")
    return binary


@pytest.fixture(scope="session")
def redis_server_url(redis_binary_path: str) -> Generator[str]:
    with running_redis(redis_binary_path, free_port()) as url:
        yield url
