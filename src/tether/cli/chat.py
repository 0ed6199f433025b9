"""``tether chat`` (talk to the assistant; list, show, rename, delete, export) and ``tether model``.

The chat streams the answer, shows tool calls as one line each (their results collapsed) and
asks about approvals inline. Ctrl-C stops the current answer; at the prompt it leaves.
pydantic-ai loads only when a chat starts, so the other commands stay quick.
"""

from __future__ import annotations

import getpass
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import anyio
import anyio.to_thread
import typer
from rich.markup import escape
from rich.table import Table

from tether.app import App, open_app
from tether.chat import events
from tether.chat.conversations import ConversationBook
from tether.chat.models import PROVIDERS, ModelConfig
from tether.cli.approver import PromptApprover, WaitingNotice
from tether.cli.runtime import console, err_console, run
from tether.cli.sources import ME
from tether.core.approvals import Approver
from tether.types import ApprovalRequest, Verdict

if TYPE_CHECKING:
    from tether.chat.assistant import Plan
    from tether.chat.run import ChatRun

chat_app = typer.Typer(help="Chat with the assistant over your tools; list and manage conversations.")
model_app = typer.Typer(help="The models the assistant can use (API keys go to the secret store).")

PREVIEW_CHARS = 100
EXIT_WORDS = {"exit", "quit", "/exit", "/quit"}


# -- chatting ------------------------------------------------------------------------------


@chat_app.callback(invoke_without_command=True)
def chat(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", help="A model from `tether model list`.")] = None,
    sources: Annotated[
        str | None, typer.Option("--sources", help="Only these sources' tools, e.g. files,tasks.")
    ] = None,
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Continue this conversation.")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Send this one message, print the answer, exit.")
    ] = None,
    prompt: Annotated[
        bool | None,
        typer.Option("--prompt/--no-prompt", help="Ask for approvals here (default: when on a terminal)."),
    ] = None,
) -> None:
    """Chat with the assistant in the terminal (`exit` or Ctrl-D to leave)."""
    if ctx.invoked_subcommand is not None:
        return
    chosen = [s.strip() for s in sources.split(",") if s.strip()] if sources is not None else None
    asks_here = sys.stdin.isatty() if prompt is None else prompt

    async def main() -> bool:
        approver: Approver = (
            SerialApprover(PromptApprover(console)) if asks_here else WaitingNotice(err_console)
        )
        async with open_app() as tether:
            assistant = tether.assistant()
            conversation_id = conversation
            if conversation_id is not None:
                stored, _ = await assistant.conversations.open(conversation_id)
                await _start_sources(tether, chosen if chosen is not None else stored.sources)
                await assistant.models.resolve(model or stored.model)
                if stored.pending:
                    console.print(f"[dim]conversation {conversation_id} waits for approval: resuming it[/]")
                    await _show(assistant.resume(conversation_id, approvers=[approver]))
            else:
                await _start_sources(tether, chosen)
                await assistant.models.resolve(model)
            if message is not None:
                run_ = assistant.send(
                    message,
                    conversation_id=conversation_id,
                    model=model,
                    sources=chosen,
                    approvers=[approver],
                )
                return await _show(run_)
            console.print("[dim]tether chat: `exit` or Ctrl-D leaves, Ctrl-C stops an answer[/]")
            while (line := await _read_prompt()) is not None:
                if not line.strip():
                    continue
                run_ = assistant.send(
                    line, conversation_id=conversation_id, model=model, sources=chosen, approvers=[approver]
                )
                await _show(run_, on_start=lambda c: console.print(f"[dim]conversation {c}[/]"))
                conversation_id = run_.conversation_id
        return True

    if not run(main):
        raise typer.Exit(1)


async def _start_sources(tether: App, names: Sequence[str] | None) -> None:
    await tether.start_sources(list(names) if names is not None else None)
    for name, status in tether.host.statuses().items():
        if status.state.value != "running":
            err_console.print(f"[yellow]{name}[/]: {status.state.value} {escape(status.detail)}")


async def _read_prompt() -> str | None:
    def read() -> str | None:
        try:
            line = console.input("[bold cyan]you>[/] ") if sys.stdin.isatty() else sys.stdin.readline()
        except EOFError:
            return None
        if not line and not sys.stdin.isatty():
            return None
        return None if line.strip().lower() in EXIT_WORDS else line

    return await anyio.to_thread.run_sync(read, abandon_on_cancel=True)


async def _show(chat_run: ChatRun[Plan], on_start: Callable[[str], None] | None = None) -> bool:
    """Print a run's events as they come; Ctrl-C cancels the run. True when the turn finished."""
    finished = False
    async with chat_run as events_, anyio.create_task_group() as tg:

        async def cancel_on_interrupt() -> None:
            with anyio.open_signal_receiver(signal.SIGINT) as signals:
                async for _ in signals:
                    chat_run.cancel()

        if sys.stdin.isatty():
            tg.start_soon(cancel_on_interrupt)
        async for event in events_:
            if isinstance(event, events.RunStarted) and on_start is not None:
                on_start(event.conversation_id)
            finished = _print(event) or finished
        tg.cancel_scope.cancel()
    return finished


def _print(event: events.ChatEvent) -> bool:
    match event:
        case events.TextDelta(text=text):
            console.out(text, end="", highlight=False)
        case events.ToolCallStarted(tool=tool, arguments=arguments):
            console.print(f"\n[dim]→ {escape(tool)} {escape(_short(str(dict(arguments))))}[/]")
        case events.ApprovalWaiting(request=request):
            console.print(
                f"[yellow]⏸ {escape(request.tool.qualified_name)} waits for approval {request.id}[/]"
            )
        case events.ToolCallFinished(tool=tool, status=status, result=result, activity_seq=seq):
            mark = "[green]✓[/]" if status == "ok" else "[red]✗[/]"
            row = f" · activity #{seq}" if seq is not None else ""
            console.print(f"{mark} [dim]{escape(tool)}: {status}{row} · {escape(_short(result))}[/]")
        case events.TurnFinished(usage=usage):
            console.print(
                f"\n[dim]tokens: {usage.input_tokens} in, {usage.output_tokens} out · "
                f"{usage.requests} requests · {usage.tool_calls} tool calls[/]"
            )
            return True
        case events.RunCancelled():
            console.print("\n[yellow]cancelled[/]")
        case events.RunFailed(code=code, message=message):
            err_console.print(f"\n[bold red]error[/] ({code}): {escape(message)}", soft_wrap=True)
        case events.RunStarted():
            pass
    return False


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


class SerialApprover:
    """One question at a time on the terminal, even when the model asked for several calls at once."""

    def __init__(self, inner: Approver) -> None:
        self._inner = inner
        self._lock = anyio.Lock()

    @property
    def name(self) -> str:
        return self._inner.name

    async def decide(self, request: ApprovalRequest) -> Verdict:
        async with self._lock:
            return await self._inner.decide(request)


# -- conversations -------------------------------------------------------------------------


@chat_app.command("list")
def list_conversations() -> None:
    """List conversations, the one updated last first."""

    async def main() -> None:
        async with open_app() as tether:
            conversations = await _book(tether).list()
        table = Table("id", "title", "model", "sources", "updated", "waiting")
        for c in conversations:
            table.add_row(
                c.id,
                escape(c.title),
                c.model or "default",
                ",".join(c.sources) if c.sources is not None else "all",
                f"{c.updated_at:%Y-%m-%d %H:%M}",
                str(len(c.pending)) if c.pending else "",
            )
        console.print(table)

    run(main)


@chat_app.command("show")
def show(conversation: Annotated[str, typer.Argument(help="The conversation's id.")]) -> None:
    """Show a conversation: messages, and each tool call with its outcome and activity row."""

    async def main() -> None:
        async with open_app() as tether:
            stored, messages = await _book(tether).open(conversation)
        console.print(
            f"[bold]{escape(stored.title)}[/] [dim]({stored.id}, model {stored.model or 'default'})[/]"
        )
        for message in messages:
            who = {"user": "[bold cyan]you[/]", "assistant": "[bold]assistant[/]"}.get(
                message.role, "[dim]tether[/]"
            )
            console.print(f"\n{who}")
            if message.text:
                console.out(message.text, highlight=False)
            for call in message.tool_calls:
                row = f" · activity #{call.activity_seq}" if call.activity_seq is not None else ""
                console.print(
                    f"[dim]  {escape(call.tool)}: {call.status}{row} · {escape(_short(call.result))}[/]"
                )
        if stored.pending:
            console.print(f"\n[yellow]waiting for approval: {', '.join(stored.pending.values())}[/]")

    run(main)


@chat_app.command("rename")
def rename(
    conversation: Annotated[str, typer.Argument(help="The conversation's id.")],
    title: Annotated[str, typer.Argument(help="The new title.")],
) -> None:
    """Give a conversation another title."""

    async def main() -> None:
        async with open_app() as tether:
            await _book(tether).rename(conversation, title)
        console.print(f"conversation {conversation} is now '{escape(title)}'")

    run(main)


@chat_app.command("delete")
def delete(conversation: Annotated[str, typer.Argument(help="The conversation's id.")]) -> None:
    """Delete a conversation (its tool calls stay in the activity log)."""

    async def main() -> None:
        async with open_app() as tether:
            await _book(tether).delete(conversation)
        console.print(f"deleted conversation {conversation}")

    run(main)


@chat_app.command("export")
def export(
    conversation: Annotated[str, typer.Argument(help="The conversation's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export a conversation as Markdown."""

    async def main() -> str:
        async with open_app() as tether:
            return await _book(tether).export_markdown(conversation)

    text = run(main)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


def _book(tether: App) -> ConversationBook:
    return ConversationBook(tether.store, tether.store, tether.store)


# -- models --------------------------------------------------------------------------------


@model_app.command("add")
def add_model(
    name: Annotated[str, typer.Argument(help="A name for this model, e.g. claude or local.")],
    provider: Annotated[str, typer.Option("--provider", help=f"One of {', '.join(PROVIDERS)}.")],
    model_id: Annotated[
        str, typer.Option("--model", help="The provider's model id, e.g. claude-sonnet-4-5.")
    ],
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="The API's URL (required for openai-compatible).")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="Read the API key from this environment variable.")
    ] = None,
    ask_key: Annotated[
        bool, typer.Option("--ask-key", help="Ask for an API key for an openai-compatible server too.")
    ] = False,
) -> None:
    """Add (or replace) a model; its API key is asked for and kept in the secret store."""
    config = ModelConfig(name, provider, model_id, base_url=base_url, api_key_env=api_key_env)
    key: str | None = None
    if api_key_env is None and (provider != "openai-compatible" or ask_key):
        key = _read_secret(f"API key for {name} ({provider}): ")
        if not key:
            raise typer.BadParameter(
                "no API key given: type it, or use --api-key-env", param_hint="--api-key"
            )

    async def main() -> None:
        async with open_app() as tether:
            models = tether.models()
            stored = await models.add(ME, config, api_key=key)
            default = await models.default_name()
        where = {"secret store": "in the secret store"}.get(str(stored.describe()["api_key"]), "")
        console.print(
            f"added model {name} ({provider}, {model_id})"
            + (f"; its key is {where}" if where else "")
            + ("; it is the default" if default == name else "")
        )

    run(main)


def _read_secret(question: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(question).strip()
    return sys.stdin.readline().strip()


@model_app.command("list")
def list_models() -> None:
    """List the configured models and which one is the default."""

    async def main() -> None:
        async with open_app() as tether:
            models = tether.models()
            configs, default = await models.list(), await models.default_name()
        if not configs:
            from tether.chat.models import NO_MODEL_HINT

            console.print(NO_MODEL_HINT, soft_wrap=True)
            return
        table = Table("name", "provider", "model", "base url", "api key", "default")
        for c in configs:
            table.add_row(
                c.name,
                c.provider,
                c.model_id,
                c.base_url or "",
                str(c.describe()["api_key"]),
                "✓" if c.name == default else "",
            )
        console.print(table)

    run(main)


@model_app.command("remove")
def remove_model(name: Annotated[str, typer.Argument(help="The model's name.")]) -> None:
    """Remove a model and its stored API key."""

    async def main() -> None:
        async with open_app() as tether:
            await tether.models().remove(ME, name)
        console.print(f"removed model {name}")

    run(main)


@model_app.command("default")
def default_model(name: Annotated[str, typer.Argument(help="The model's name.")]) -> None:
    """Make a model the one new conversations use."""

    async def main() -> None:
        async with open_app() as tether:
            await tether.models().set_default(ME, name)
        console.print(f"{name} is the default model")

    run(main)
