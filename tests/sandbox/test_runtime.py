"""Which host paths a command's runtime is granted: found from the command, never a whole prefix."""

from __future__ import annotations

import os
from pathlib import Path

from tether.sandbox.runtime import find_runtime, is_system_path


def executable(path: Path, text: str = "\x7fELF") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def make_base_python(root: Path) -> Path:
    real = executable(root / "base" / "bin" / "python3.11")
    (root / "base" / "bin" / "python3").symlink_to("python3.11")
    (root / "base" / "lib" / "python3.11").mkdir(parents=True)
    return real


def test_a_venv_python_is_granted_its_venv_and_its_base_interpreter(tmp_path: Path) -> None:
    make_base_python(tmp_path)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {tmp_path / 'base' / 'bin'}\n")
    (venv / "bin" / "python").symlink_to(tmp_path / "base" / "bin" / "python3")
    runtime = find_runtime(str(venv / "bin" / "python"))
    assert runtime.command == str(venv / "bin" / "python")
    assert set(runtime.paths) == {
        venv / "bin",
        venv / "lib",
        venv / "pyvenv.cfg",
        tmp_path / "base" / "bin",
        tmp_path / "base" / "lib",
    }
    assert runtime.bin_dirs == (venv / "bin", tmp_path / "base" / "bin")
    assert runtime.search_path.startswith(f"{venv / 'bin'}{os.pathsep}{tmp_path / 'base' / 'bin'}")


def test_a_venv_with_copied_interpreter_finds_its_base_through_pyvenv_cfg(tmp_path: Path) -> None:
    make_base_python(tmp_path)
    venv = tmp_path / "venv"
    executable(venv / "bin" / "python3")
    (venv / "pyvenv.cfg").write_text(f"home = {tmp_path / 'base' / 'bin'}\n")
    paths = find_runtime(str(venv / "bin" / "python3")).paths
    assert tmp_path / "base" / "lib" in paths
    assert tmp_path / "venv" not in paths  # a prefix itself is never granted


def test_a_bare_command_is_found_on_the_specs_path_and_its_shebang_followed(tmp_path: Path) -> None:
    executable(tmp_path / "node" / "bin" / "node")
    (tmp_path / "node" / "lib" / "node_modules").mkdir(parents=True)
    executable(tmp_path / "tools" / "bin" / "serve", "#!/usr/bin/env node\nconsole.log(1)\n")
    search = f"{tmp_path / 'tools' / 'bin'}{os.pathsep}{tmp_path / 'node' / 'bin'}"
    runtime = find_runtime("serve", {"PATH": search})
    assert runtime.command == str(tmp_path / "tools" / "bin" / "serve")
    assert tmp_path / "node" / "bin" in runtime.paths
    assert tmp_path / "node" / "lib" in runtime.paths
    assert tmp_path / "tools" / "bin" in runtime.paths


def test_a_binary_outside_a_bin_dir_is_granted_alone(tmp_path: Path) -> None:
    tool = executable(tmp_path / "opt" / "tool")
    assert find_runtime(str(tool)).paths == (tool,)


def test_system_commands_need_no_grant_and_missing_ones_stay_as_given() -> None:
    runtime = find_runtime("sh", {"PATH": "/usr/bin:/bin"})
    assert is_system_path(Path(runtime.command))
    assert runtime.paths == ()
    assert find_runtime("no-such-command-here", {"PATH": "/usr/bin"}).command == "no-such-command-here"
