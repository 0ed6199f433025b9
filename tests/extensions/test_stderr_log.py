"""The stderr log: rotation by size, the in-memory tail, and reading a pipe to its end."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from tether.extensions.stderr_log import MAX_LINE_CHARS, StderrLog

pytestmark = pytest.mark.anyio


def test_the_log_rotates_into_numbered_files_and_keeps_no_more(tmp_path: Path) -> None:
    log = StderrLog(tmp_path / "files.log", max_bytes=500, files=3, tail_lines=5)
    log.open()
    for n in range(200):
        log.add_line(f"line {n:03d}")
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files.log", "files.log.1", "files.log.2"]
    assert all(p.stat().st_size <= 500 for p in tmp_path.iterdir())
    assert (tmp_path / "files.log").read_text().endswith("line 199\n")
    assert log.tail == tuple(f"line {n:03d}" for n in range(195, 200))


def test_tether_notes_go_to_the_file_but_not_the_tail(tmp_path: Path) -> None:
    log = StderrLog(tmp_path / "notes.log")
    log.open()
    log.add_line("from the server")
    log.note("restarting in 1 s")
    log.close()
    assert log.tail == ("from the server",)
    assert "tether: restarting in 1 s" in (tmp_path / "notes.log").read_text()


async def test_pump_reads_lines_split_across_writes_until_the_pipe_closes(tmp_path: Path) -> None:
    log = StderrLog(tmp_path / "pipe.log")
    log.open()
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"first\nsec")
        os.write(write_fd, "ond\r\nd\xe9j\xe0 vu\nno newline at the end".encode())
        os.write(write_fd, b"x" * (MAX_LINE_CHARS + 10))
        os.close(write_fd)
        with anyio.fail_after(5):
            await log.pump(read_fd)
    finally:
        os.close(read_fd)
        log.close()
    assert log.tail[:3] == ("first", "second", "d\xe9j\xe0 vu")
    assert len(log.tail) == 5
    assert log.tail[3].startswith("no newline at the end")
    assert len(log.tail[3]) == MAX_LINE_CHARS
    assert "d\xe9j\xe0 vu" in (tmp_path / "pipe.log").read_text(encoding="utf-8")
