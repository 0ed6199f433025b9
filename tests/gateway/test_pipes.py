"""The stdio gateway's own pipe wire: lines split anywhere, a full pipe, the claim of fds 0 and 1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import anyio
import anyio.lowlevel
import pytest

from tether.gateway.pipes import PipeLines, PipeWriter

pytestmark = pytest.mark.anyio


def nonblocking_pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    return read_fd, write_fd


async def test_lines_are_whole_however_the_bytes_arrive() -> None:
    read_fd, write_fd = nonblocking_pipe()
    text = '{"a":"é"}\n{"b":2}\nlast without newline'
    encoded = text.encode()
    lines: list[str] = []

    async def read() -> None:
        async for line in PipeLines(read_fd):
            lines.append(line)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(read)
            for i in range(len(encoded)):  # one byte at a time, splitting the two-byte "é"
                os.write(write_fd, encoded[i : i + 1])
                await anyio.lowlevel.checkpoint()
            os.close(write_fd)
    os.close(read_fd)
    assert lines == ['{"a":"é"}\n', '{"b":2}\n', "last without newline"]


async def test_a_write_larger_than_the_pipe_waits_for_the_reader() -> None:
    read_fd, write_fd = nonblocking_pipe()
    big = "x" * (4 * 1024 * 1024) + "\n"
    received: list[str] = []

    async def read() -> None:
        async for line in PipeLines(read_fd):
            received.append(line)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(read)
            writer = PipeWriter(write_fd)
            await writer.write(big)
            await writer.flush()
            os.close(write_fd)
    os.close(read_fd)
    assert received == [big]


def test_while_claimed_stray_output_goes_to_stderr_and_stdin_reads_nothing() -> None:
    script = textwrap.dedent(
        """
        import os, sys, anyio
        from tether.gateway.pipes import claimed_stdio

        async def main():
            with claimed_stdio() as wire:
                assert wire is not None
                lines, writer = wire
                print("stray print", flush=True)
                os.write(1, b"stray write\\n")
                assert os.read(0, 10) == b""
                async for line in lines:
                    await writer.write("echo " + line)
            print("after", flush=True)

        anyio.run(main)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input="one\ntwo\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == "echo one\necho two\nafter\n"
    assert "stray print" in done.stderr
    assert "stray write" in done.stderr
