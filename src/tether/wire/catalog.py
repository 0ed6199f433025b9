"""A connected server's catalog (tools, prompts, resources and resource templates), listed page by
page and kept fresh.

``list_catalog`` re-lists what a ``list_changed`` notification named; ``keep_listening`` holds
the 2026-07-28 change feed open. Both work on a ``Client`` someone else connected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Literal, TypeVar

import anyio
import anyio.abc
from mcp import Client, MCPError, types

from tether.types import PromptDef, ResourceDef, ResourceTemplateDef, ToolDef
from tether.wire.convert import to_prompt_def, to_resource_def, to_template_def, to_tool_def

ListKind = Literal["tools", "prompts", "resources"]
ALL_LISTS: frozenset[ListKind] = frozenset({"tools", "prompts", "resources"})
MAX_PAGES = 100
"""A server whose pagination never ends cannot hang a listing."""


def _tether_version() -> str:
    try:
        return metadata.version("tether")
    except metadata.PackageNotFoundError:
        return "0"


CLIENT_INFO = types.Implementation(name="tether", version=_tether_version())

_T = TypeVar("_T")
_U = TypeVar("_U")


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a server offers, in tether's types."""

    tools: tuple[ToolDef, ...] = ()
    prompts: tuple[PromptDef, ...] = ()
    resources: tuple[ResourceDef, ...] = ()
    templates: tuple[ResourceTemplateDef, ...] = ()
    """Resource templates: listed with the resources, and re-listed when they change."""


async def list_catalog(client: Client, kinds: frozenset[ListKind], previous: Catalog) -> Catalog:
    """List ``kinds`` again (those the server has the capability for); keep the rest of ``previous``."""
    capabilities = client.server_capabilities
    catalog = previous
    if "tools" in kinds:
        tools: list[types.Tool] = []
        if capabilities.tools is not None:
            tools = await _all_pages(client.list_tools, lambda page: (page.tools, page.next_cursor))
        catalog = replace(catalog, tools=tuple(to_tool_def(tool) for tool in tools))
    if "prompts" in kinds:
        prompts: list[types.Prompt] = []
        if capabilities.prompts is not None:
            prompts = await _all_pages(client.list_prompts, lambda page: (page.prompts, page.next_cursor))
        catalog = replace(catalog, prompts=tuple(to_prompt_def(prompt) for prompt in prompts))
    if "resources" in kinds:
        resources: list[types.Resource] = []
        templates: list[types.ResourceTemplate] = []
        if capabilities.resources is not None:
            resources = await _all_pages(
                client.list_resources, lambda page: (page.resources, page.next_cursor)
            )
            templates = await _all_pages(
                client.list_resource_templates, lambda page: (page.resource_templates, page.next_cursor)
            )
        catalog = replace(
            catalog,
            resources=tuple(to_resource_def(resource) for resource in resources),
            templates=tuple(to_template_def(template) for template in templates),
        )
    return catalog


async def keep_listening(
    client: Client, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    """Hold a ``subscriptions/listen`` stream open (2026-07-28): change events only flow through one.

    The session's message handler sees each event too, so this only keeps the stream open.
    A server that cannot listen just does not tell us about changes. With ``tg.start`` it
    returns once the server acknowledged the stream, so no change is missed after that.
    """
    capabilities = client.server_capabilities
    tools = bool(capabilities.tools and capabilities.tools.list_changed)
    prompts = bool(capabilities.prompts and capabilities.prompts.list_changed)
    resources = bool(capabilities.resources and capabilities.resources.list_changed)
    if not (tools or prompts or resources):
        task_status.started()
        return
    is_started = False
    try:
        async with client.listen(
            tools_list_changed=tools, prompts_list_changed=prompts, resources_list_changed=resources
        ) as subscription:
            task_status.started()
            is_started = True
            async for _event in subscription:
                pass
    except Exception:  # a missing change feed is not worth stopping the server for
        if not is_started:
            task_status.started()
        return


async def _all_pages(
    fetch: Callable[..., Awaitable[_T]], unpack: Callable[[_T], tuple[list[_U], str | None]]
) -> list[_U]:
    found: list[_U] = []
    cursor: str | None = None
    try:
        for _ in range(MAX_PAGES):
            items, cursor = unpack(await fetch(cursor=cursor))
            found.extend(items)
            if cursor is None:
                break
    except MCPError as error:
        if error.code != types.METHOD_NOT_FOUND:
            raise
        return []  # it declared the capability but does not serve the list: nothing to offer
    return found
