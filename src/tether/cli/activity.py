"""``tether activity`` (read, follow, verify the log) and ``tether approvals`` (decide pending calls)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import anyio
import typer
from rich.table import Table

from tether.app import open_app
from tether.cli.runtime import console, run
from tether.cli.sources import ME
from tether.core.storage import ActivityFilter
from tether.errors import ChainBroken, Conflict, UsageError
from tether.types import ActivityRecord, Verdict

activity_app = typer.Typer(help="The activity log: every call, decision and change, hash-chained.")
approvals_app = typer.Typer(
    help="Pending approvals: decide calls that wait for a person.", no_args_is_help=True
)


def parse_since(text: str | None) -> datetime | None:
    """'7d', '12h', '30m' or an ISO date/time."""
    if text is None:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    if text[:-1].isdigit() and text[-1] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since takes 7d, 12h, 30m or an ISO date, not '{text}'") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@activity_app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", "-s")] = None,
    tool: Annotated[str | None, typer.Option("--tool", "-t")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="e.g. tool.called, policy.changed")] = None,
    decision: Annotated[str | None, typer.Option("--decision", help="ask, allow or block")] = None,
    since: Annotated[str | None, typer.Option("--since", help="7d, 12h, 30m or an ISO date")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show the last N rows.")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new rows.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Show the activity log, newest last."""
    if ctx.invoked_subcommand is not None:
        return
    query = ActivityFilter(source=source, tool=tool, kind=kind, effect=decision, since=parse_since(since))

    async def main() -> None:
        async with open_app() as tether:
            rows = list(
                await tether.store.records(dataclasses.replace(query, limit=limit, newest_first=True))
            )
            rows.reverse()
            _print(rows, as_json=as_json)
            last = rows[-1].seq if rows else 0
            while follow:
                await anyio.sleep(0.5)
                new = await tether.store.records(dataclasses.replace(query, after_seq=last))
                _print(list(new), as_json=as_json, header=False)
                last = new[-1].seq if new else last

    run(main)


@activity_app.command("verify")
def verify() -> None:
    """Check the hash chain; name the first row that was changed, removed or reordered."""

    async def main() -> None:
        async with open_app() as tether:
            report = await tether.store.verify()
        if not report.is_intact:
            raise ChainBroken(
                f"the activity log is broken at row {report.first_broken_seq}: {report.problem}"
            )
        console.print(f"activity log intact: {report.checked} rows verified")

    run(main)


def _print(rows: list[ActivityRecord], *, as_json: bool, header: bool = True) -> None:
    if as_json:
        for r in rows:
            print(
                json.dumps(
                    {
                        "seq": r.seq,
                        "at": r.at.isoformat(),
                        "kind": r.kind,
                        "actor": r.actor,
                        "source": r.source,
                        "tool": r.tool,
                        "data": r.data,
                        "hash": r.hash,
                    },
                    ensure_ascii=False,
                    default=str,
                )
            )
        return
    if not rows:
        if header:
            console.print("no activity yet")
        return
    table = Table("#", "time", "what", "source", "tool", "actor", "details", show_header=header)
    for r in rows:
        table.add_row(
            str(r.seq),
            r.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            r.kind,
            r.source or "",
            r.tool or "",
            r.actor,
            _summary(r),
        )
    console.print(table)


def _summary(record: ActivityRecord) -> str:
    data = record.data
    if record.kind == "tool.called":
        parts = [str(data.get("outcome")), str(data.get("effect"))]
        if data.get("verdict"):
            parts.append(str(data["verdict"]))
        if data.get("error"):
            parts.append(str(data["error"])[:60])
        return " · ".join(parts) + f" · {data.get('duration_ms', 0)} ms"
    if record.kind == "policy.changed":
        return f"{data.get('previous') or 'ask'} -> {data.get('effect')}"
    if record.kind == "approval.resolved":
        return f"{data.get('verdict')} by {data.get('decided_by')}"
    return ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, [], {}, ""))[:80]


@approvals_app.command("list")
def approvals_list() -> None:
    """List calls waiting for a decision."""

    async def main() -> None:
        async with open_app() as tether:
            pending = await tether.store.pending_approvals()
        if not pending:
            console.print("no pending approvals")
            return
        table = Table("id", "tool", "asked by", "since", "arguments")
        for stored in pending:
            r = stored.request
            table.add_row(
                r.id,
                r.tool.qualified_name,
                str(r.actor),
                r.requested_at.astimezone().strftime("%H:%M:%S"),
                json.dumps(r.arguments, ensure_ascii=False)[:80],
            )
        console.print(table)

    run(main)


@approvals_app.command("approve")
def approvals_approve(
    approval_id: str,
    always: Annotated[bool, typer.Option("--always", help="Always allow this tool from now on.")] = False,
) -> None:
    """Approve a pending call (once, or always for that tool)."""
    run(lambda: _decide(approval_id, Verdict.ALWAYS_ALLOWED if always else Verdict.APPROVED_ONCE))


@approvals_app.command("deny")
def approvals_deny(approval_id: str) -> None:
    """Deny a pending call."""
    run(lambda: _decide(approval_id, Verdict.DENIED))


async def _decide(approval_id: str, verdict: Verdict) -> None:
    async with open_app() as tether:
        if not await tether.store.resolve_approval(approval_id, verdict, str(ME)):
            stored = await tether.store.get_approval(approval_id)
            raise Conflict(
                f"approval {approval_id} was already decided: "
                f"{stored.verdict.value if stored.verdict else '?'} by {stored.decided_by}"
            )
    console.print(f"{approval_id}: {verdict.value}")
