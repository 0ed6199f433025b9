"""How one run of a local server ended, in words a user can act on.

The runner turns the SDK's exceptions (often wrapped in exception groups by its task
groups) into an ``Ending``: the reason shown in the source's status and log, and whether
starting again could help. Pure functions: nothing here touches a process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from mcp import MCPError, types
from pydantic import ValidationError

from tether.extensions.connection import Connection
from tether.sandbox import LaunchSpec


@dataclass(frozen=True, slots=True)
class Ending:
    """How one run of the process ended."""

    reason: str
    was_running: bool = False
    uptime_s: float = 0.0
    is_permanent: bool = False
    """Starting again cannot help (the command does not exist, say)."""


def ending_after_exit(live: Connection, *, start_timeout_s: float, uptime_s: float) -> Ending:
    """The run ended without an error: it never answered, it was killed, or it exited."""
    if live.client is None:
        return Ending(_with_garbage(live, f"did not answer the MCP handshake within {start_timeout_s:g} s"))
    if live.kill_reason is not None:
        return Ending(f"stopped because {live.kill_reason}", was_running=True, uptime_s=uptime_s)
    return Ending(_with_garbage(live, "exited"), was_running=True, uptime_s=uptime_s)


def ending_after_error(live: Connection, spec: LaunchSpec, error: Exception, *, uptime_s: float) -> Ending:
    """The run ended with ``error`` from the SDK (spawning, the handshake, or the session)."""
    cause = first_cause(error)
    if isinstance(cause, OSError) and live.client is None:
        return Ending(_spawn_problem(spec, cause), is_permanent=True)
    if live.client is not None:
        return Ending(
            _with_garbage(live, f"stopped: {_describe(cause)}"), was_running=True, uptime_s=uptime_s
        )
    if isinstance(cause, MCPError) and cause.code == types.CONNECTION_CLOSED:
        return Ending(_with_garbage(live, "exited during start"))
    return Ending(_with_garbage(live, f"failed to start: {_describe(cause)}"))


def is_expected(error: Exception) -> bool:
    """Whether ``error`` is one a misbehaving server can cause (else it is worth a traceback)."""
    return isinstance(first_cause(error), MCPError | OSError | ValidationError)


def first_cause(error: BaseException) -> BaseException:
    """The first leaf of (nested) exception groups, where the SDK's task groups wrap the real error."""
    while isinstance(error, BaseExceptionGroup):
        error = cast("BaseExceptionGroup[BaseException]", error).exceptions[0]
    return error


def _with_garbage(live: Connection, reason: str) -> str:
    if live.stdout_garbage is None:
        return reason
    return (
        f"{reason}; it wrote text that is not JSON-RPC to stdout ({live.stdout_garbage}): "
        "an MCP server must write only protocol messages to stdout and log to stderr"
    )


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if isinstance(error, MCPError) else f"{type(error).__name__}: {text}"


def _spawn_problem(spec: LaunchSpec, error: OSError) -> str:
    if spec.cwd is not None and not Path(spec.cwd).is_dir():
        return f"cannot start: its working directory {spec.cwd} does not exist"
    if isinstance(error, FileNotFoundError):
        return f"cannot start: the command `{spec.command}` was not found; install it or fix the command"
    if isinstance(error, PermissionError):
        return f"cannot start: the command `{spec.command}` is not executable"
    return f"cannot start `{spec.command}`: {error.strerror or error}"
