"""``tether activity`` (read, follow, verify the log) and ``tether approvals`` (decide pending calls)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Generator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TextIO

import anyio
import typer
from rich.table import Table

from tether.app import open_app
from tether.cli.runtime import console, run
from tether.cli.sources import ME
from tether.core.export import csv_lines, jsonl_line
from tether.core.report import LAST_REPORT_SETTING, build_report, render_markdown
from tether.core.storage import ActivityFilter
from tether.errors import ChainBroken, Conflict, UsageError
from tether.types import ActivityRecord, Verdict

activity_app = typer.Typer(help="The activity log: every call, decision and change, hash-chained.")
approvals_app = typer.Typer(
    help="Pending approvals: decide calls that wait for a person.", no_args_is_help=True
)


def parse_since(text: str | None, *, option: str = "--since") -> datetime | None:
    """'7d', '12h', '30m' or an ISO date/time."""
    if text is None:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    if text[:-1].isdigit() and text[-1] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} takes 7d, 12h, 30m or an ISO date, not '{text}'") from None
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


@activity_app.command("export")
def export(
    output_format: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="7d, 12h, 30m or an ISO date")] = None,
) -> None:
    """Export the activity log with every row's hashes, for an auditor or another tool."""
    if output_format not in ("jsonl", "csv"):
        raise typer.BadParameter("use jsonl or csv", param_hint="--format")

    async def main() -> int:
        async with open_app() as tether:
            rows = await tether.store.records(ActivityFilter(since=parse_since(since)))
        with _open_output(output) as out:
            write_rows(rows, out, output_format)
        return len(rows)

    count = run(main)
    if output is not None:
        console.print(f"wrote {count} rows to {output}")


def write_rows(rows: Sequence[ActivityRecord], out: TextIO, output_format: str) -> None:
    if output_format == "jsonl":
        out.writelines(jsonl_line(r) for r in rows)
    else:
        out.write(csv_lines(rows, header=True))


@contextlib.contextmanager
def _open_output(path: Path | None) -> Generator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as file:
        yield file


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


@activity_app.command("prune")
def prune(
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="Remove rows older than this: 90d, 12h or an ISO date.")
    ] = None,
    keep_rows: Annotated[
        int | None, typer.Option("--keep-rows", min=0, help="Keep only the newest N rows.")
    ] = None,
) -> None:
    """Remove old rows; what stays still verifies, from a checkpoint where the log now starts.

    With both options a row goes when either says so. Only rows that verify are removed, and
    the prune itself is recorded in the log. Export first if you need the old rows.
    """
    if older_than is None and keep_rows is None:
        raise typer.BadParameter("give --older-than, --keep-rows or both", param_hint="--older-than")
    cutoff = parse_since(older_than, option="--older-than")

    async def main() -> ActivityRecord | None:
        async with open_app() as tether:
            return await tether.store.prune(older_than=cutoff, keep_rows=keep_rows, actor=str(ME))

    record = run(main)
    if record is None:
        console.print("nothing to prune")
        return
    through = record.data.get("through_seq")
    console.print(
        f"removed {record.data.get('removed')} rows up to row {through}; the log now starts after it "
        f"and row {record.seq} records the prune"
    )


def _print(rows: list[ActivityRecord], *, as_json: bool, header: bool = True) -> None:
    if as_json:
        for r in rows:
            print(jsonl_line(r), end="")
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
    if record.kind == "activity.pruned":
        return f"removed {data.get('removed')} rows up to row {data.get('through_seq')}"
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


def access_report(
    since: Annotated[str | None, typer.Option("--since", help="7d, 12h, 30m or an ISO date")] = "7d",
    output_format: Annotated[str, typer.Option("--format", help="md or json")] = "md",
) -> None:
    """Per extension and connector: what ran, which paths and hosts it touched, what runs without asking."""
    if output_format not in ("md", "json"):
        raise typer.BadParameter("use md or json", param_hint="--format")

    async def main() -> None:
        async with open_app() as tether:
            previous: object = await tether.store.get_setting(LAST_REPORT_SETTING)
            built = build_report(
                await tether.store.records(ActivityFilter()),
                configs=await tether.store.list_sources(),
                effects=await tether.store.all_effects(),
                since=parse_since(since),
                previous_report_seq=previous if isinstance(previous, int) else 0,
            )
            await tether.store.set_setting(LAST_REPORT_SETTING, built.until_seq)
        if output_format == "json":
            print(json.dumps(dataclasses.asdict(built), indent=2))
        else:
            console.out(render_markdown(built), highlight=False)

    run(main)
