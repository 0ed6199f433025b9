"""The CLI approver: shows a pending call and asks once / always / deny on the terminal."""

from __future__ import annotations

import json
import sys

import anyio.to_thread
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from tether.types import ApprovalRequest, Verdict

_ANSWERS = {
    "o": Verdict.APPROVED_ONCE,
    "once": Verdict.APPROVED_ONCE,
    "y": Verdict.APPROVED_ONCE,
    "a": Verdict.ALWAYS_ALLOWED,
    "always": Verdict.ALWAYS_ALLOWED,
    "d": Verdict.DENIED,
    "deny": Verdict.DENIED,
    "n": Verdict.DENIED,
}


class PromptApprover:
    """Reads the answer from stdin, so it also works when another program drives the prompt."""

    name = "cli-prompt"

    def __init__(self, console: Console) -> None:
        self._console = console

    async def decide(self, request: ApprovalRequest) -> Verdict:
        self._console.print(_render(request))
        while True:
            self._console.print(
                "Allow this call? [bold]\\[o][/]nce, [bold]\\[a][/]lways, [bold]\\[d][/]eny: ", end=""
            )
            line = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
            if not line:  # stdin closed: nobody can answer here
                self._console.print("no answer on stdin: waiting for `tether approvals approve`")
                await anyio.sleep_forever()
            if (verdict := _ANSWERS.get(line.strip().lower())) is not None:
                return verdict


def _render(request: ApprovalRequest) -> Panel:
    tool = request.tool
    hints = [
        name
        for name, on in (
            ("read-only", tool.definition.annotations.read_only),
            ("destructive", tool.definition.annotations.destructive),
        )
        if on
    ]
    title = f"[bold]{tool.qualified_name}[/] wants to run" + (f"  ({', '.join(hints)})" if hints else "")
    body = Syntax(json.dumps(request.arguments, indent=2, ensure_ascii=False), "json", word_wrap=True)
    subtitle = f"approval {request.id} · {request.decision.reason} · asked by {request.actor}"
    return Panel(body, title=title, subtitle=subtitle, title_align="left", subtitle_align="left")


class WaitingNotice:
    """When nobody can answer here: say how to decide from elsewhere, then wait for that."""

    name = "cli-notice"

    def __init__(self, console: Console) -> None:
        self._console = console

    async def decide(self, request: ApprovalRequest) -> Verdict:
        self._console.print(
            f"approval {request.id} is waiting for {request.tool.qualified_name}: run "
            f"`tether approvals approve {request.id}` (or `deny`) or use the web UI",
            highlight=False,
            soft_wrap=True,
        )
        await anyio.sleep_forever()
        raise AssertionError("unreachable")
