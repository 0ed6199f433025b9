"""Run as a script in front of an extension: limits, Landlock rules, a clean env, then exec.

Usage: ``python -I landlock_shim.py CONFIG_JSON -- COMMAND [ARGS...]``, built by
``LandlockLauncher``. Rules and rlimits survive ``exec``; if Landlock cannot be applied the
shim exits 126 rather than run the command unconfined. Imports only the stdlib and landlock.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import TypedDict

from landlock import FSAccess, Ruleset

READ = FSAccess.READ_FILE | FSAccess.READ_DIR | FSAccess.EXECUTE
REFUSED = 126


class ShimConfig(TypedDict):
    read: list[str]
    write: list[str]
    memory_limit_bytes: int | None
    keep_env: list[str]


def confine(config: ShimConfig) -> None:
    """Set the memory limit and restrict this process (and what it execs) to the granted paths."""
    limit = config["memory_limit_bytes"]
    if limit is not None:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    ruleset = Ruleset()
    for paths, rights in ((config["read"], READ), (config["write"], FSAccess.all())):
        for path in paths:
            if not os.path.exists(path):
                continue
            # A rule on a file may hold only file rights (the kernel refuses dir rights there).
            allowed = rights if os.path.isdir(path) else rights & FSAccess.all_file()
            ruleset.allow(path, rules=allowed)
    ruleset.apply()


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: landlock_shim.py CONFIG_JSON -- COMMAND [ARGS...]", file=sys.stderr)
        sys.exit(2)
    config: ShimConfig = json.loads(argv[1])
    try:
        confine(config)
    except OSError as error:
        print(f"tether: Landlock could not be applied, not starting the server: {error}", file=sys.stderr)
        sys.exit(REFUSED)
    env = {name: os.environ[name] for name in config["keep_env"] if name in os.environ}
    command = argv[3:]
    try:
        os.execve(command[0], command, env)
    except OSError as error:
        print(f"tether: cannot run {command[0]}: {error.strerror}", file=sys.stderr)
        sys.exit(REFUSED + 1)


if __name__ == "__main__":
    main(sys.argv)
