"""``GET /events``: server-sent events that keep every open page live.

A stream follows ``Host.events`` (other processes reach it through ``App.watch_store``) and
sends JSON ``approval`` (a card to show), ``resolved`` and ``activity`` messages. It starts
with every pending approval and ends when its session does or the server stops.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

import anyio
from starlette.requests import Request
from starlette.responses import StreamingResponse

from tether.core.events import ApprovalPending, HostEvent
from tether.core.storage import StoredApproval
from tether.web.approval_views import approval_view
from tether.web.context import Web, session, web_of

HEARTBEAT_S = 15.0
CHECK_EVERY_S = 0.5
"""How soon a stream notices the server stopping, so Ctrl-C does not wait for open pages."""
RETRY_MS = 1000


async def events(request: Request) -> StreamingResponse:
    web = web_of(request)
    return StreamingResponse(
        stream(web, session_key=session(request).key),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def stream(web: Web, *, session_key: str, heartbeat_s: float = HEARTBEAT_S) -> AsyncGenerator[str]:
    """Runs until the page goes away, its session ends (signed out) or the server stops."""
    with web.backend.host.events.subscribe() as receive:
        yield f"retry: {RETRY_MS}\n\n"
        for pending in await web.backend.store.pending_approvals():
            yield _approval(web, pending)
        quiet_s = 0.0
        while True:
            event: HostEvent | None = None
            with anyio.move_on_after(CHECK_EVERY_S):
                event = await receive.receive()
            if web.is_stopping() or not web.sessions.is_active(session_key):
                return
            if event is None:
                quiet_s += CHECK_EVERY_S
                if quiet_s >= heartbeat_s:
                    quiet_s = 0.0
                    yield ": still here\n\n"
            elif isinstance(event, ApprovalPending):
                stored = StoredApproval(event.request, verdict=None, decided_by=None, decided_at=None)
                yield _approval(web, stored)
            else:
                yield message("activity", {"seq": event.seq, "kind": event.kind, "source": event.source})
                if event.kind == "approval.resolved":
                    yield message("resolved", {"id": event.data.get("approval_id")})


def _approval(web: Web, stored: StoredApproval) -> str:
    view = approval_view(stored)
    html = web.pages.fragment("_approval.html", {"approval": view, "is_live": True})
    return message("approval", {"id": view.id, "html": html})


def message(event: str, data: object) -> str:
    """One SSE message; JSON has no raw newlines, so the data fits one ``data:`` line."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
