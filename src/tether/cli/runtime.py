"""What every command shares: the consoles, the error-to-exit-code table, the async runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import typer
from rich.console import Console
from rich.markup import escape

from tether import errors

T = TypeVar("T")

# First match along the error's class hierarchy wins.
EXIT_CODES: dict[type[errors.TetherError], int] = {
    errors.ChainBroken: 9,
    errors.StoreError: 8,
    errors.SourceError: 7,
    errors.Conflict: 6,
    errors.Refused: 5,
    errors.AlreadyExists: 4,
    errors.NotFound: 3,
    errors.UsageError: 2,
    errors.TetherError: 1,
}

console = Console()
err_console = Console(stderr=True)
options = {"debug": False}


def exit_code_for(error: errors.TetherError) -> int:
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run one command's coroutine; turn a TetherError into one line and its exit code."""
    try:
        return anyio.run(main)
    except errors.TetherError as error:
        if options["debug"]:
            raise
        err_console.print(f"[bold red]error[/]: {escape(error.message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(exit_code_for(error)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
