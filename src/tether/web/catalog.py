"""The tools a source has now, for any page: listed live while it runs, else from the stored catalog.

A connector that just connected may not have saved its catalog yet, and one that stopped
still has the tools it last listed; both read right this way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tether.core.tools import qualify
from tether.errors import NotFound
from tether.types import Effect, SourceConfig, SourceState, ToolDef
from tether.web.context import Web


@dataclass(frozen=True, slots=True)
class ToolLine:
    qualified_name: str
    name: str
    setting: str
    """The stored permission: ask, allow or block."""


async def tool_definitions(
    web: Web, source: str, stored: Mapping[str, Sequence[ToolDef]] | None = None
) -> list[ToolDef]:
    """``stored`` is ``store.all_known_tools()`` when the caller read it for many sources."""
    host = web.backend.host
    status = host.statuses().get(source)
    if status is not None and status.state is SourceState.RUNNING:
        try:
            return list(await host.source(source).list_tools())
        except NotFound:
            pass  # removed meanwhile: the stored catalog says what it had
    if stored is not None:
        return list(stored.get(source, ()))
    return list(await web.backend.store.known_tools(source))


async def tool_lines(
    web: Web,
    source: str,
    effects: Mapping[tuple[str, str], Effect],
    stored: Mapping[str, Sequence[ToolDef]] | None = None,
) -> tuple[ToolLine, ...]:
    """Each tool with its stored permission (``effects`` from ``store.all_effects()``)."""
    return tuple(
        ToolLine(qualify(source, d.name), d.name, str(effects.get((source, d.name)) or Effect.ASK))
        for d in await tool_definitions(web, source, stored)
    )


@dataclass(frozen=True, slots=True)
class Known:
    """What a page showing every source reads once: configs, permissions, stored catalogs."""

    configs: dict[str, SourceConfig]
    effects: dict[tuple[str, str], Effect]
    catalogs: Mapping[str, Sequence[ToolDef]]

    @classmethod
    async def read(cls, web: Web) -> Known:
        store = web.backend.store
        configs = {c.name: c for c in await store.list_sources()}
        return cls(configs, await store.all_effects(), await store.all_known_tools())

    async def tool_lines(self, web: Web, source: str) -> tuple[ToolLine, ...]:
        return await tool_lines(web, source, self.effects, self.catalogs)
