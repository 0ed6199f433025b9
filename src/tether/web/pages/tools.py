"""Tools & permissions: every tool of every source with Ask / Always allow / Block, per-source
"skip approvals", the optional rules, and changed definitions to review.

What a call would get is shown with ``policy.decide`` on the stored policy, so the page and
the call path agree. Changing anything goes through the Host, which logs it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tether.core import policy
from tether.core.activity import SourceChanged
from tether.core.pinning import definition_diff, definition_hash
from tether.core.tools import qualify, split_qualified
from tether.errors import UnknownTool
from tether.types import Effect, HostedTool, SourceConfig, SourceKind, ToolDef
from tether.web.approval_views import hints
from tether.web.catalog import tool_definitions
from tether.web.context import Web, actor, read_form, text, web_of

EFFECTS = {"ask": Effect.ASK, "allow": Effect.ALLOW, "block": Effect.BLOCK}


@dataclass(frozen=True, slots=True)
class ToolRow:
    qualified_name: str
    source: str
    name: str
    title: str
    description: str
    setting: str
    """The stored permission (ask, allow, block); ask when none was stored."""
    effect: str
    """What a call would get now, after rules and the source's skip-approvals."""
    reason: str
    hints: tuple[str, ...]
    diff: str | None
    """How the definition changed since it was approved; None when it did not."""


@dataclass(frozen=True, slots=True)
class SourceTools:
    name: str
    kind: str
    state: str
    skip_approvals: bool
    tools: tuple[ToolRow, ...]


@dataclass(frozen=True, slots=True)
class RuleRow:
    name: str
    summary: str
    is_on: bool


async def tools_page(request: Request) -> Response:
    web = web_of(request)
    only = request.query_params.get("source") or None
    rules = await web.backend.host.rules()
    catalogs = await web.backend.store.all_known_tools()
    sources = [
        await source_tools(web, config, rules, catalogs)
        for config in await web.backend.store.list_sources()
        if only is None or config.name == only
    ]
    rule_rows = [RuleRow(r.name, r.summary, r.name in rules) for r in policy.RULES.values()]
    needs_review = sum(1 for s in sources for t in s.tools if t.diff)
    return await web.render(
        request,
        "tools.html",
        {"sources": sources, "rules": rule_rows, "only": only, "needs_review": needs_review},
    )


async def set_permission(request: Request) -> Response:
    web = web_of(request)
    effect = EFFECTS.get(text(await read_form(request), "effect"))
    if effect is None:
        return HTMLResponse("choose ask, allow or block", status_code=422)
    tool = await find_tool(web, request.path_params["tool"])
    await web.backend.host.set_policy(actor(request), tool, effect)
    return await _row(web, tool)


async def review(request: Request) -> Response:
    web = web_of(request)
    tool = await find_tool(web, request.path_params["tool"])
    await web.backend.host.pin(actor(request), tool)
    return await _row(web, tool)


async def set_skip_approvals(request: Request) -> Response:
    web = web_of(request)
    name = request.path_params["source"]
    skips = text(await read_form(request), "skip_approvals") == "on"
    config = await web.backend.store.get_source(name)
    if config.skip_approvals != skips:
        await web.backend.store.update_source(dataclasses.replace(config, skip_approvals=skips))
        web.backend.host.set_skip_approvals(name, skips=skips)
        await web.backend.host.record(
            SourceChanged(source=name, setting="skip_approvals", value=skips), actor=actor(request)
        )
    rules = await web.backend.host.rules()
    view = await source_tools(web, dataclasses.replace(config, skip_approvals=skips), rules)
    return web.fragment("_tool_source.html", {"source": view})


async def set_rule(request: Request) -> Response:
    web = web_of(request)
    name = request.path_params["rule"]
    if name not in policy.RULES:
        return HTMLResponse(f"no rule named '{name}'", status_code=404)
    is_on = text(await read_form(request), "is_on") == "on"
    await web.backend.host.set_rule(actor(request), name, is_on=is_on)
    rule = policy.RULES[name]
    return web.fragment("_rule.html", {"rule": RuleRow(rule.name, rule.summary, is_on)})


async def source_tools(
    web: Web,
    config: SourceConfig,
    rules: list[str],
    catalogs: Mapping[str, Sequence[ToolDef]] | None = None,
) -> SourceTools:
    status = web.backend.host.statuses().get(config.name)
    definitions = await tool_definitions(web, config.name, catalogs)
    rows = [
        await tool_row(web, HostedTool(qualify(config.name, d.name), config.name, d), config, rules)
        for d in definitions
    ]
    return SourceTools(
        name=config.name,
        kind="local" if config.kind is SourceKind.STDIO else "connector",
        state=status.state.value if status else ("disabled" if not config.is_enabled else "stopped"),
        skip_approvals=config.skip_approvals,
        tools=tuple(rows),
    )


async def tool_row(web: Web, tool: HostedTool, config: SourceConfig, rules: list[str]) -> ToolRow:
    stored = await web.backend.store.get_policy(tool.source, tool.name)
    decision = policy.decide(tool, stored=stored, source_skips_approvals=config.skip_approvals, rules=rules)
    is_changed = stored.pinned_hash is not None and stored.pinned_hash != definition_hash(tool.definition)
    definition = tool.definition
    return ToolRow(
        qualified_name=tool.qualified_name,
        source=tool.source,
        name=tool.name,
        title=definition.title or definition.annotations.title or "",
        description=definition.description.strip(),
        setting=(stored.effect or Effect.ASK).value,
        effect=decision.effect.value,
        reason=decision.reason,
        hints=hints(definition.annotations),
        diff=definition_diff(stored.pinned, definition) if is_changed and stored.pinned else None,
    )


async def find_tool(web: Web, qualified_name: str) -> HostedTool:
    """A tool of a running source, or from the stored catalog when its source is not running."""
    parts = split_qualified(qualified_name)
    if parts is None:
        raise UnknownTool(f"'{qualified_name}' is not a SOURCE__TOOL name")
    source, name = parts
    for definition in await tool_definitions(web, source):
        if definition.name == name:
            return HostedTool(qualified_name, source, definition)
    raise UnknownTool(f"source '{source}' has no tool '{name}'")


async def _row(web: Web, tool: HostedTool) -> Response:
    config = await web.backend.store.get_source(tool.source)
    row = await tool_row(web, tool, config, await web.backend.host.rules())
    return web.fragment("_tool_row.html", {"tool": row})
