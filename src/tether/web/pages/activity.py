"""Activity: the log with filters, keyset pages, one row's details, verify status and export.

Pages are cut by ``seq`` (``before``/``after``), never by OFFSET, so the thousandth page of a
long log costs what the first does. Verifying reads the whole chain, so it runs on demand
(the page asks for it after loading) and is remembered until a new row is logged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from tether.core.activity import ChainReport
from tether.core.export import csv_lines, jsonl_line
from tether.core.storage import ActivityFilter
from tether.core.tools import qualify
from tether.types import ActivityRecord
from tether.web.context import Web, web_of

PAGE_ROWS = 50
EXPORT_BATCH_ROWS = 2000
SUMMARY_CHARS = 140
PERIODS = {
    "1h": ("last hour", timedelta(hours=1)),
    "24h": ("last 24 hours", timedelta(days=1)),
    "7d": ("last 7 days", timedelta(days=7)),
    "30d": ("last 30 days", timedelta(days=30)),
}
KINDS = (
    "tool.called",
    "approval.resolved",
    "policy.changed",
    "policy.rule",
    "tool.reviewed",
    "tools.changed",
    "source.added",
    "source.removed",
    "source.toggled",
    "source.changed",
    "connector.signed_in",
    "connector.signed_out",
    "web.signed_in",
)
DECISIONS = ("ask", "allow", "block")


@dataclass(frozen=True, slots=True)
class Filters:
    source: str = ""
    tool: str = ""
    kind: str = ""
    decision: str = ""
    period: str = ""

    @classmethod
    def of(cls, request: Request) -> Filters:
        q = request.query_params
        period = q.get("period", "")
        decision = q.get("decision", "")
        return cls(
            source=q.get("source", "").strip(),
            tool=q.get("tool", "").strip(),
            kind=q.get("kind", "").strip(),
            decision=decision if decision in DECISIONS else "",
            period=period if period in PERIODS else "",
        )

    def query(self, now: datetime) -> ActivityFilter:
        return ActivityFilter(
            source=self.source or None,
            tool=self.tool or None,
            kind=self.kind or None,
            effect=self.decision or None,
            since=now - PERIODS[self.period][1] if self.period else None,
        )

    def params(self) -> dict[str, str]:
        """The filters that are set, for links that keep them."""
        values = {
            "source": self.source,
            "tool": self.tool,
            "kind": self.kind,
            "decision": self.decision,
            "period": self.period,
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True, slots=True)
class Row:
    seq: int
    at: str
    kind: str
    source: str
    tool: str
    actor: str
    summary: str
    tone: str
    """ok, warn or bad: how the row is coloured."""


async def activity_page(request: Request) -> Response:
    web = web_of(request)
    filters = Filters.of(request)
    query = filters.query(datetime.now(UTC))
    before = _int(request.query_params.get("before"))
    after = _int(request.query_params.get("after"))
    if after is not None:
        found = list(await web.backend.store.records(replace(query, after_seq=after, limit=PAGE_ROWS + 1)))
        has_newer, found = len(found) > PAGE_ROWS, found[:PAGE_ROWS]
        found.reverse()
        has_older = True
    else:
        found = list(
            await web.backend.store.records(
                replace(query, before_seq=before, newest_first=True, limit=PAGE_ROWS + 1)
            )
        )
        has_older, found = len(found) > PAGE_ROWS, found[:PAGE_ROWS]
        has_newer = before is not None
    context = {
        "rows": [row_view(r) for r in found],
        "filters": filters,
        "params": filters.params(),
        "periods": PERIODS,
        "kinds": KINDS,
        "decisions": DECISIONS,
        "sources": [c.name for c in await web.backend.store.list_sources()],
        "older": found[-1].seq if found and has_older else None,
        "newer": found[0].seq if found and has_newer else None,
        "is_live": before is None and after is None,
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "activity-results":
        return web.fragment("_activity_results.html", context)
    return await web.render(request, "activity.html", context)


async def record_page(request: Request) -> Response:
    web = web_of(request)
    seq = int(request.path_params["seq"])
    found = await web.backend.store.records(ActivityFilter(after_seq=seq - 1, limit=1))
    if not found or found[0].seq != seq:
        return await web.render(request, "not_found.html", {"what": f"activity row {seq}"}, status_code=404)
    record = found[0]
    return await web.render(request, "activity_record.html", {"record": record, "row": row_view(record)})


async def verify_status(request: Request) -> Response:
    """The chain's state; computed again only when a row was logged since the last check."""
    web = web_of(request)
    report, checked_at = await verified(web, force=request.query_params.get("again") == "1")
    return web.fragment("_verify.html", {"report": report, "checked_at": checked_at})


async def verified(web: Web, *, force: bool = False) -> tuple[ChainReport, str]:
    newest = await web.backend.store.records(ActivityFilter(newest_first=True, limit=1))
    head = newest[0].seq if newest else 0
    cached: tuple[int, ChainReport, str] | None = web.state.get("verify")
    if cached is not None and cached[0] == head and not force:
        return cached[1], cached[2]
    report = await web.backend.store.verify()
    checked_at = datetime.now().strftime("%H:%M:%S")
    web.state["verify"] = (head, report, checked_at)
    return report, checked_at


async def export(request: Request) -> Response:
    web = web_of(request)
    output_format = request.query_params.get("format", "jsonl")
    if output_format not in ("jsonl", "csv"):
        return HTMLResponse("export as jsonl or csv", status_code=422)
    query = Filters.of(request).query(datetime.now(UTC))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        _exported(web, query, output_format),
        media_type="application/x-ndjson" if output_format == "jsonl" else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="tether-activity-{stamp}.{output_format}"'},
    )


async def _exported(web: Web, query: ActivityFilter, output_format: str) -> AsyncGenerator[str]:
    if output_format == "csv":
        yield csv_lines((), header=True)
    last = 0
    while True:
        batch = await web.backend.store.records(replace(query, after_seq=last, limit=EXPORT_BATCH_ROWS))
        if not batch:
            return
        yield "".join(jsonl_line(r) for r in batch) if output_format == "jsonl" else csv_lines(batch)
        last = batch[-1].seq


def row_view(record: ActivityRecord) -> Row:
    return Row(
        seq=record.seq,
        at=record.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        kind=record.kind,
        source=record.source or "",
        tool=qualify(record.source, record.tool) if record.source and record.tool else (record.tool or ""),
        actor=record.actor,
        summary=summary(record),
        tone=_tone(record),
    )


def summary(record: ActivityRecord) -> str:
    """One line a person can read: what happened to the call or the setting."""
    data = record.data
    if record.kind == "tool.called":
        parts = [str(data.get("outcome", "")), str(data.get("effect", ""))]
        if data.get("verdict"):
            parts.append(str(data["verdict"]))
        if data.get("error"):
            parts.append(str(data["error"])[:80])
        return " · ".join(p for p in parts if p) + f" · {data.get('duration_ms', 0)} ms"
    if record.kind == "policy.changed":
        return f"{data.get('previous') or 'ask'} → {data.get('effect')}"
    if record.kind == "approval.resolved":
        return f"{data.get('verdict')} by {data.get('decided_by')}"
    shown = "; ".join(f"{k}: {_compact(v)}" for k, v in data.items() if v not in (None, [], {}, ""))
    return shown if len(shown) <= SUMMARY_CHARS else shown[: SUMMARY_CHARS - 1] + "…"


def _compact(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def _tone(record: ActivityRecord) -> str:
    outcome = record.data.get("outcome")
    if record.kind == "tool.called" and outcome in ("refused", "failed", "invalid"):
        return "bad"
    if outcome == "tool_error" or record.data.get("verdict") in ("denied", "expired"):
        return "warn"
    return "ok"


def _int(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)
