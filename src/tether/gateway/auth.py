"""Bearer tokens for the HTTP gateway, checked with the MCP SDK's auth middleware.

``TokenVerifier`` looks a presented token up by its SHA-256. Answers are cached briefly so a
busy client does not cost a database read per request; a revocation clears the cache as soon
as its activity row is seen, and the cache lifetime bounds the delay otherwise.
"""

from __future__ import annotations

import time

from mcp.server.auth.provider import AccessToken

from tether.core.storage import GatewayToken, TokenStore
from tether.gateway.tokens import TOKEN_PREFIX, hash_token

CACHE_S = 2.0
MAX_CACHED = 1024


class TokenVerifier:
    """The SDK's ``TokenVerifier`` over tether's ``TokenStore``."""

    def __init__(self, store: TokenStore, *, cache_s: float = CACHE_S) -> None:
        self._store = store
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, GatewayToken | None]] = {}

    async def verify_token(self, token: str) -> AccessToken | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            found = cached[1]
        else:
            found = await self._store.token_by_hash(digest)
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[digest] = (now + self._cache_s, found)
        if found is None:
            return None
        return AccessToken(
            token=token,
            client_id=found.name,
            scopes=[],
            claims={
                "sources": list(found.sources) if found.sources is not None else None,
                "tool_search": found.uses_tool_search,
            },
        )

    def forget(self) -> None:
        """Drop every cached answer (a token was created or revoked)."""
        self._cache.clear()
