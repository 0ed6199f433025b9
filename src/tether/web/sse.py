"""``GET /events``: server-sent events that keep every open page live.

Each stream subscribes to ``Host.events`` (fed also by other tether processes through
``App.watch_store``) and sends, as JSON: ``approval`` (a rendered card to show),
``resolved`` (an approval to take away) and ``activity`` (a new row was logged). A stream
starts with every pending approval, so nothing created while the page loaded is missed.
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
from tether.web.context import Web, web_of

HEARTBEAT_S = 15.0
RETRY_MS = 1000


async def events(request: Request) -> StreamingResponse:
    web = web_of(request)
    return StreamingResponse(
        stream(web),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def stream(web: Web, *, heartbeat_s: float = HEARTBEAT_S) -> AsyncGenerator[str]:
    with web.backend.host.events.subscribe() as receive:
        yield f"retry: {RETRY_MS}\n\n"
        for pending in await web.backend.store.pending_approvals():
            yield _approval(web, pending)
        while True:
            event: HostEvent | None = None
            with anyio.move_on_after(heartbeat_s):
                event = await receive.receive()
            if event is None:
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
