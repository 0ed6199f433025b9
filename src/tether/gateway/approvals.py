"""Approvals through the gateway's client: the per-call approvers ``Host.call_tool`` races.

2025-11-25 clients that can elicit are asked with an ``elicitation/create`` form (once /
always / deny). 2026-07-28 clients get an ``input_required`` result instead; their answer
comes back with the retried call and is handed to the host by ``AnsweredApprover``. Anyone
else waits for the web UI or ``tether approvals approve``, with progress notifications.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

import anyio
from mcp import MCPError, types
from mcp.server.session import ServerSession
from mcp.shared.exceptions import NoBackChannelError
from pydantic import ValidationError

from tether.types import JSON, ApprovalRequest, Decision, HostedTool, Verdict

INPUT_KEY = "approval"
STATE_PREFIX = "approval:"
PROGRESS_EVERY_S = 5.0

_CHOICES = {"once": Verdict.APPROVED_ONCE, "always": Verdict.ALWAYS_ALLOWED, "deny": Verdict.DENIED}

APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "decision": {
            "type": "string",
            "title": "Allow this call?",
            "oneOf": [
                {"const": "once", "title": "Allow once"},
                {"const": "always", "title": "Always allow this tool"},
                {"const": "deny", "title": "Deny"},
            ],
        }
    },
    "required": ["decision"],
}


def approval_message(tool: HostedTool, arguments: Mapping[str, JSON], decision: Decision) -> str:
    shown = json.dumps(dict(arguments), ensure_ascii=False, indent=2, default=str)
    if len(shown) > 2000:
        shown = shown[:2000] + "\n…"
    return f"tether: allow {tool.qualified_name} to run? ({decision.reason})\narguments: {shown}"


def verdict_of(result: types.ElicitResult) -> Verdict:
    """Accept with a choice is that choice; anything else (decline, cancel, no choice) denies."""
    if result.action != "accept" or result.content is None:
        return Verdict.DENIED
    choice = result.content.get("decision")
    return _CHOICES.get(choice, Verdict.DENIED) if isinstance(choice, str) else Verdict.DENIED


class WaitingNotice:
    """Never decides: keeps the client informed with progress while the web UI or CLI decides."""

    name = "gateway-wait"

    def __init__(
        self, session: ServerSession, *, timeout_s: float, every_s: float = PROGRESS_EVERY_S
    ) -> None:
        self._session = session
        self._timeout_s = timeout_s
        self._every_s = every_s

    async def decide(self, request: ApprovalRequest) -> Verdict:
        message = (
            f"approval {request.id} is waiting for {request.tool.qualified_name}: approve it in the "
            f"tether web UI or run `tether approvals approve {request.id}`"
        )
        started = anyio.current_time()
        while True:
            elapsed_s = round(anyio.current_time() - started, 1)
            await self._session.report_progress(elapsed_s, self._timeout_s, message)
            await anyio.sleep(self._every_s)


class ElicitingApprover:
    """Asks the client's user with an elicitation form; if the client cannot, waits like
    ``WaitingNotice``. Cancelled (and the form withdrawn) when someone else decides first."""

    def __init__(
        self,
        session: ServerSession,
        request_id: types.RequestId | None,
        name: str,
        *,
        fallback: WaitingNotice,
    ) -> None:
        self._session = session
        self._request_id = request_id
        self._name = name
        self._fallback = fallback

    @property
    def name(self) -> str:
        return self._name

    async def decide(self, request: ApprovalRequest) -> Verdict:
        message = approval_message(request.tool, request.arguments, request.decision)
        try:
            result = await self._session.elicit_form(
                message, APPROVAL_SCHEMA, related_request_id=self._request_id
            )
        except (MCPError, NoBackChannelError, ValidationError):
            return await self._fallback.decide(request)
        return verdict_of(result)


class AnsweredApprover:
    """The answer a 2026-07-28 client brought back with its retried call."""

    def __init__(self, verdict: Verdict, name: str) -> None:
        self._verdict = verdict
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def decide(self, request: ApprovalRequest) -> Verdict:
        return self._verdict


class InputRequests:
    """The approvals asked through ``input_required`` results: each answer may be used once.

    The SDK's request-state boundary seals the state (bound to this tool, these arguments and
    this caller, with an expiry); the nonce inside it stops an answer from being replayed.
    """

    def __init__(self, *, ttl_s: float = 600.0) -> None:
        self._ttl_s = ttl_s
        self._open: dict[str, float] = {}

    def ask(
        self, tool: HostedTool, arguments: Mapping[str, JSON], decision: Decision
    ) -> types.InputRequiredResult:
        now = time.monotonic()
        self._open = {nonce: until for nonce, until in self._open.items() if until > now}
        nonce = secrets.token_urlsafe(16)
        self._open[nonce] = now + self._ttl_s
        request = types.ElicitRequest(
            params=types.ElicitRequestFormParams(
                message=approval_message(tool, arguments, decision), requested_schema=APPROVAL_SCHEMA
            )
        )
        return types.InputRequiredResult(
            input_requests={INPUT_KEY: request}, request_state=STATE_PREFIX + nonce
        )

    def answer(self, params: types.CallToolRequestParams) -> Verdict | None:
        """The verdict the retried call carries, if it answers an open approval; None otherwise."""
        state, responses = params.request_state, params.input_responses
        if state is None or not state.startswith(STATE_PREFIX) or responses is None:
            return None
        until = self._open.pop(state.removeprefix(STATE_PREFIX), None)
        if until is None or until < time.monotonic():
            return None
        response = responses.get(INPUT_KEY)
        return verdict_of(response) if isinstance(response, types.ElicitResult) else Verdict.DENIED
