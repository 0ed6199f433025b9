"""Who is calling the gateway: the actor named in the activity log and the sources it reaches.

Over stdio the caller is the local user ("gateway:stdio", every source). Over HTTP it is a
token: its name is the actor, its scope limits which sources it sees and calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from tether.core.storage import GatewayToken
from tether.types import Actor


@dataclass(frozen=True, slots=True)
class Caller:
    actor: Actor
    sources: frozenset[str] | None = None
    """The sources this caller reaches; None means every one."""
    uses_tool_search: bool = False

    def reaches(self, source: str) -> bool:
        return self.sources is None or source in self.sources


def stdio_caller(*, uses_tool_search: bool = False) -> Caller:
    return Caller(Actor("gateway", "stdio"), None, uses_tool_search)


def token_caller(token: GatewayToken) -> Caller:
    scope = frozenset(token.sources) if token.sources is not None else None
    return Caller(Actor("gateway", token.name), scope, token.uses_tool_search)
