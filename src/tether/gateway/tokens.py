"""Gateway tokens: make one, store only its hash, revoke it; each step on the activity log.

A token is 32 random bytes (URL-safe base64) with a ``tether_`` prefix, so it is easy to
spot in a config file. The store keeps its SHA-256 (a random 256-bit secret needs no slow
hash); the token itself is returned once and never kept.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from tether.core.activity import ActivityEvent
from tether.core.host import Host
from tether.core.storage import GatewayToken, TokenStore
from tether.errors import InvalidName
from tether.types import Actor

TOKEN_PREFIX = "tether_"
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class TokenCreated(ActivityEvent):
    kind: ClassVar[str] = "token.created"
    name: str = ""
    sources: tuple[str, ...] | None = None
    uses_tool_search: bool = False


@dataclass(frozen=True, slots=True)
class TokenRevoked(ActivityEvent):
    kind: ClassVar[str] = "token.revoked"
    name: str = ""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just made: ``secret`` is what the client sends, shown to the user once."""

    token: GatewayToken
    secret: str = field(repr=False)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_token(
    store: TokenStore,
    host: Host,
    actor: Actor,
    name: str,
    *,
    sources: Sequence[str] | None = None,
    uses_tool_search: bool = False,
) -> IssuedToken:
    """Make a token named ``name`` reaching ``sources`` (None: all), store its hash, record it."""
    if not _TOKEN_NAME.match(name):
        raise InvalidName(
            f"'{name}' cannot name a token: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    scope = tuple(sorted(set(sources))) if sources is not None else None
    token = GatewayToken(name, hash_token(secret), scope, uses_tool_search, datetime.now(UTC))
    await store.add_token(token)
    await host.record(TokenCreated(name=name, sources=scope, uses_tool_search=uses_tool_search), actor=actor)
    return IssuedToken(token, secret)


async def revoke_token(store: TokenStore, host: Host, actor: Actor, name: str) -> GatewayToken:
    """Revoke the active token ``name``; the HTTP gateway refuses it from then on."""
    revoked = await store.revoke_token(name)
    await host.record(TokenRevoked(name=name), actor=actor)
    return revoked
