"""Memory and process limits (rlimits) for a sandboxed command, and how to say which apply.

The MCP SDK spawns through anyio, which has no ``preexec_fn``, so the limits are set by a
small program in front of the command inside the sandbox: util-linux's ``prlimit``, which
sets soft and hard limits and execs. Set inside bwrap's user namespace, RLIMIT_NPROC counts
only the sandbox's own processes; the kernel never applies it to root.
"""

from __future__ import annotations

from tether.sandbox.host import HostSupport
from tether.sandbox.policy import SandboxPolicy, limit_words


def limit_command(policy: SandboxPolicy, support: HostSupport) -> list[str]:
    """``prlimit --data=N --nproc=N --`` for ``policy``, or nothing when there is nothing to set."""
    if support.prlimit is None:
        return []
    options: list[str] = []
    if policy.memory_limit_bytes is not None:
        options.append(f"--data={policy.memory_limit_bytes}")
    if policy.max_processes is not None:
        options.append(f"--nproc={policy.max_processes}")
    return [support.prlimit, *options, "--"] if options else []


def limits_isolation(
    policy: SandboxPolicy, *, is_root: bool, has_user_namespace: bool, missing: str = ""
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(enforced, not enforced) words for the limits of ``policy``.

    ``missing`` says why no limit can be set at all (e.g. ``"prlimit not found"``).
    """
    words = limit_words(policy)
    if not words:
        return (), ()
    if missing:
        return (), (f"memory and process limits ({missing})",)
    if policy.max_processes is None:
        return words, ()
    memory = tuple(word for word in words if word.startswith("memory"))
    if not has_user_namespace:
        return memory, ("process limit (without a user namespace it would count all your processes)",)
    if is_root:
        return memory, ("process limit (the kernel does not apply it to root)",)
    return words, ()


def bubblewrap_limits(policy: SandboxPolicy, support: HostSupport) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The limits a bubblewrap launch enforces: set by prlimit inside the user namespace."""
    missing = "" if support.prlimit is not None else "prlimit not found"
    return limits_isolation(policy, is_root=support.is_root, has_user_namespace=True, missing=missing)
