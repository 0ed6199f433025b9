"""Approvals: calls that wait for a person, decided here with Approve once / Always allow / Deny.

Deciding is the store's compare-and-set (``resolve_approval``), the same one the CLI and
the gateway race on: the waiting caller, in this process or another, continues at once,
and a second click (another tab, another person) is told the approval was decided already.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tether.core.storage import ActivityFilter
from tether.core.tools import qualify
from tether.errors import UnknownApproval
from tether.types import ActivityRecord, Verdict
from tether.web.context import read_form, session, text, web_of

RECENT_DECISIONS = 20
CHOICES = {
    Verdict.APPROVED_ONCE.value: Verdict.APPROVED_ONCE,
    Verdict.ALWAYS_ALLOWED.value: Verdict.ALWAYS_ALLOWED,
    Verdict.DENIED.value: Verdict.DENIED,
}
SAID = {
    Verdict.APPROVED_ONCE: "approved once",
    Verdict.ALWAYS_ALLOWED: "always allowed",
    Verdict.DENIED: "denied",
    Verdict.EXPIRED: "expired",
}


async def approvals_page(request: Request) -> Response:
    web = web_of(request)
    recent = await web.backend.store.records(
        ActivityFilter(kind="approval.resolved", newest_first=True, limit=RECENT_DECISIONS)
    )
    return await web.render(request, "approvals.html", {"recent": [_decided(r) for r in recent]})


async def decide(request: Request) -> Response:
    web = web_of(request)
    approval_id = request.path_params["approval_id"]
    verdict = CHOICES.get(text(await read_form(request), "verdict"))
    if verdict is None:
        return HTMLResponse("choose approve once, always allow or deny", status_code=422)
    decided_by = f"web:{session(request).label}"
    try:
        is_mine = await web.backend.store.resolve_approval(approval_id, verdict, decided_by)
        stored = await web.backend.store.get_approval(approval_id)
    except UnknownApproval:
        return web.fragment(
            "_decided.html",
            {"id": approval_id, "message": "no such approval", "is_stale": True},
            status_code=404,
        )
    if is_mine:
        message = f"{SAID[verdict]}: {stored.request.tool.qualified_name} continues"
        return web.fragment("_decided.html", {"id": approval_id, "message": message, "is_stale": False})
    previous = SAID.get(stored.verdict, "decided") if stored.verdict else "decided"
    message = f"already decided: {previous} by {stored.decided_by or 'someone else'}"
    return web.fragment(
        "_decided.html", {"id": approval_id, "message": message, "is_stale": True}, status_code=409
    )


@dataclass(frozen=True, slots=True)
class Decided:
    seq: int
    at: str
    tool: str
    verdict: str
    decided_by: str


def _decided(record: ActivityRecord) -> Decided:
    verdict = str(record.data.get("verdict", ""))
    return Decided(
        seq=record.seq,
        at=record.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        tool=qualify(record.source, record.tool) if record.source and record.tool else str(record.tool or ""),
        verdict=_said(verdict),
        decided_by=str(record.data.get("decided_by", "")),
    )


def _said(verdict: str) -> str:
    try:
        return SAID[Verdict(verdict)]
    except ValueError:
        return verdict
