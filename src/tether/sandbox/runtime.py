"""Which host paths a command needs to run at all: system dirs, a few /etc files, its runtime.

A runtime is granted read-only from the command itself: the command is found on PATH, its
symlinks followed, a script's ``#!`` interpreter too, and for every executable in a
``<prefix>/bin`` dir outside the system dirs the launcher grants ``<prefix>/bin``,
``<prefix>/lib``, ``<prefix>/lib64`` and ``<prefix>/pyvenv.cfg`` (never the prefix itself,
which may be a home dir). A Python venv also grants its base interpreter's prefix (from
``pyvenv.cfg``'s ``home``), so a venv's ``bin/python`` runs with its own site-packages.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SYSTEM_DIRS = (Path("/usr"), Path("/bin"), Path("/sbin"), Path("/lib"), Path("/lib32"), Path("/lib64"))
"""Read-only in every sandbox. Merged-/usr systems have the last five as symlinks into /usr."""

ETC_FILES = tuple(
    Path("/etc", name)
    for name in (
        "alternatives",  # Debian's /usr/bin/* -> /etc/alternatives/* links
        "ld.so.cache",
        "ld.so.conf",
        "ld.so.conf.d",
        "localtime",
        "nsswitch.conf",
        "host.conf",
        "hosts",
        "resolv.conf",
        "gai.conf",
        "services",
        "protocols",
        "ssl",
        "ca-certificates",
        "ca-certificates.conf",
        "pki",
        "crypto-policies",
        "mime.types",
    )
)
"""The /etc pieces a runtime needs for linking, time, DNS and TLS. No passwd, no shadow, no
ssh, no D-Bus config: a process that asks for its user name gets none and must use HOME."""

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
"""PATH inside a sandbox, after the runtime's own bin dirs."""

_PREFIX_PARTS = ("bin", "lib", "lib64", "pyvenv.cfg")
_MAX_HOPS = 16


@dataclass(frozen=True, slots=True)
class Runtime:
    """The command as it runs in the sandbox, and the host paths it needs read-only."""

    command: str
    """Absolute when it was found on the host; as given otherwise (then it fails to start)."""
    paths: tuple[Path, ...]
    bin_dirs: tuple[Path, ...]
    """The runtime's bin dirs outside the system dirs, first on the sandbox's PATH."""

    @property
    def search_path(self) -> str:
        return os.pathsep.join([*map(str, self.bin_dirs), SANDBOX_PATH])


def find_runtime(command: str, env: Mapping[str, str] | None = None) -> Runtime:
    """Resolve ``command`` like a shell would and collect the paths its runtime needs."""
    search = (env or {}).get("PATH") or os.environ.get("PATH") or SANDBOX_PATH
    found = command if os.sep in command else shutil.which(command, path=search)
    if found is None or not os.path.isfile(found):
        return Runtime(command, (), ())
    absolute = os.path.abspath(found)
    paths: list[Path] = []
    bin_dirs: list[Path] = []
    for executable in _executables(Path(absolute), search):
        for path in _prefix_grants(executable):
            if path not in paths:
                paths.append(path)
        bin_dir = executable.parent
        if bin_dir.name == "bin" and bin_dir not in bin_dirs and not is_system_path(bin_dir):
            bin_dirs.append(bin_dir)
    return Runtime(absolute, tuple(paths), tuple(bin_dirs))


def is_system_path(path: Path) -> bool:
    """Whether ``path`` is inside a dir every sandbox already has read-only."""
    real = Path(os.path.realpath(path))
    roots = {Path(os.path.realpath(root)) for root in SYSTEM_DIRS}
    return any(real == root or root in real.parents for root in roots)


def _executables(start: Path, search: str) -> list[Path]:
    """``start``, every hop of its symlinks, and the same for a script's interpreter."""
    seen: list[Path] = []
    pending = [start]
    while pending and len(seen) < _MAX_HOPS:
        path = pending.pop(0)
        if path in seen:
            continue
        seen.append(path)
        if path.is_symlink():
            pending.append(Path(os.path.normpath(path.parent / os.readlink(path))))
        elif path.is_file():
            interpreter = _interpreter(path, search)
            if interpreter is not None:
                pending.append(interpreter)
            venv_home = _venv_home(path)
            if venv_home is not None:
                pending.append(venv_home)
    return seen


def _prefix_grants(executable: Path) -> list[Path]:
    if is_system_path(executable):
        return []
    if executable.parent.name != "bin":
        return [executable] if executable.exists() else []
    prefix = executable.parent.parent
    return [prefix / part for part in _PREFIX_PARTS if (prefix / part).exists()]


def _interpreter(script: Path, search: str) -> Path | None:
    """The interpreter of a ``#!`` script (``/usr/bin/env NAME`` looked up on PATH)."""
    try:
        with script.open("rb") as file:
            first = file.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    if not words:
        return None
    if Path(words[0]).name == "env" and len(words) > 1:
        named = next((word for word in words[1:] if not word.startswith("-")), None)
        found = shutil.which(named, path=search) if named else None
        return Path(found) if found else None
    return Path(words[0])


def _venv_home(executable: Path) -> Path | None:
    """For a venv's interpreter, the base interpreter's bin dir named in ``pyvenv.cfg``."""
    if executable.parent.name != "bin":
        return None
    config = executable.parent.parent / "pyvenv.cfg"
    try:
        lines = config.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            home = Path(value.strip())
            return home / executable.name if (home / executable.name).exists() else home / "python3"
    return None
