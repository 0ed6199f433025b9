"""What the gateway lists: the tools, prompts and resources of the sources a caller reaches.

Tools and prompts keep the host's clash-free ``<source>__<name>``; a resource URI becomes
``tether://<source>/<quoted original URI>``, and a resource template keeps its expressions
inside the same scheme. A blocked tool is not listed (calling it still
gets tether's refusal). Lookups also take a bare name or an original URI when exactly one
reachable source has it. Everything here is MCP wire JSON; nothing here calls a tool.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from tether.core.host import Host
from tether.core.tools import TemplateLister, qualify, split_qualified
from tether.errors import UnknownTool
from tether.gateway.callers import Caller
from tether.types import Effect, HostedTool, ToolDef

RESOURCE_PREFIX = "tether://"
_EXPRESSION = re.compile(r"\{[^{}]*\}")
MAX_CACHED_SCOPES = 32

WireObject = dict[str, Any]


class UnknownPrompt(UnknownTool):
    code = "unknown_prompt"


class UnknownResource(UnknownTool):
    code = "unknown_resource"


@dataclass(frozen=True, slots=True)
class _Listing:
    catalogs: tuple[tuple[str, Sequence[ToolDef]], ...]
    blocked: frozenset[tuple[str, str]]
    tools: list[WireObject]


class GatewayCatalog:
    """Listings per caller scope, rebuilt only when a source's tools or the blocked set change."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._listings: dict[frozenset[str] | None, _Listing] = {}
        self._wire: dict[tuple[str, int], tuple[ToolDef, WireObject]] = {}
        self._schemas: dict[str, Mapping[str, Any]] = {}

    # -- tools ---------------------------------------------------------------------------

    async def tools(self, caller: Caller) -> list[WireObject]:
        catalogs = tuple(
            [
                (source.name, await source.list_tools())
                for source in self._host.sources()
                if caller.reaches(source.name)
            ]
        )
        effects = await self._host.store.all_effects()
        blocked = frozenset(key for key, effect in effects.items() if effect is Effect.BLOCK)
        cached = self._listings.get(caller.sources)
        if cached is not None and cached.blocked == blocked and _same_catalogs(cached.catalogs, catalogs):
            return cached.tools
        if len(self._wire) > 2 * sum(len(definitions) for _, definitions in catalogs) + 64:
            self._wire.clear()  # drop the wire forms of definitions no source lists any more
        tools = [
            self._wire_tool(source, definition)
            for source, definitions in catalogs
            for definition in definitions
            if (source, definition.name) not in blocked
        ]
        if len(self._listings) >= MAX_CACHED_SCOPES:
            self._listings.clear()
        self._listings[caller.sources] = _Listing(catalogs, blocked, tools)
        self._schemas.update((tool["name"], tool["inputSchema"]) for tool in tools)
        return tools

    def input_schema(self, name: str) -> Mapping[str, Any] | None:
        """The input schema of a tool some caller was shown (for the SDK's header checks)."""
        return self._schemas.get(name)

    async def hosted_tools(self, caller: Caller) -> list[HostedTool]:
        """Every tool the caller reaches, blocked ones included (for search and lookups)."""
        return [
            HostedTool(qualify(source.name, definition.name), source.name, definition)
            for source in self._host.sources()
            if caller.reaches(source.name)
            for definition in await source.list_tools()
        ]

    async def find_tool(self, caller: Caller, name: str) -> HostedTool:
        """The tool ``name`` names for this caller: qualified, or bare when only one source has it."""
        parts = split_qualified(name)
        if parts is not None and caller.reaches(parts[0]):
            for source in self._host.sources():
                if source.name == parts[0]:
                    for definition in await source.list_tools():
                        if definition.name == parts[1]:
                            return HostedTool(name, source.name, definition)
        matches = [tool for tool in await self.hosted_tools(caller) if tool.name == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            options = ", ".join(tool.qualified_name for tool in matches)
            raise UnknownTool(f"'{name}' is ambiguous: call one of {options}")
        raise UnknownTool(f"no tool named '{name}': list the tools to see the names this gateway offers")

    def _wire_tool(self, source: str, definition: ToolDef) -> WireObject:
        key = (source, id(definition))
        cached = self._wire.get(key)
        if cached is not None and cached[0] is definition:
            return cached[1]
        wire = wire_tool(qualify(source, definition.name), definition)
        # The definition is kept with its wire form, so its id cannot be reused while cached.
        self._wire[key] = (definition, wire)
        return wire

    # -- prompts -------------------------------------------------------------------------

    async def prompts(self, caller: Caller) -> list[WireObject]:
        listed: list[WireObject] = []
        for source in self._host.sources():
            if caller.reaches(source.name):
                for prompt in await source.list_prompts():
                    wire: WireObject = {
                        "name": qualify(source.name, prompt.name),
                        "description": prompt.description,
                    }
                    if prompt.arguments:
                        wire["arguments"] = [dict(argument) for argument in prompt.arguments]
                    listed.append(wire)
        return listed

    async def find_prompt(self, caller: Caller, name: str) -> tuple[str, str]:
        """(source, the source's name for it) of prompt ``name``."""
        found: list[tuple[str, str]] = []
        parts = split_qualified(name)
        for source in self._host.sources():
            if not caller.reaches(source.name):
                continue
            for prompt in await source.list_prompts():
                if parts == (source.name, prompt.name):
                    return source.name, prompt.name
                if prompt.name == name:
                    found.append((source.name, prompt.name))
        if len(found) == 1:
            return found[0]
        raise UnknownPrompt(
            f"no prompt named '{name}': list the prompts to see the names this gateway offers"
        )

    # -- resources -----------------------------------------------------------------------

    async def resources(self, caller: Caller) -> list[WireObject]:
        listed: list[WireObject] = []
        for source in self._host.sources():
            if caller.reaches(source.name):
                for resource in await source.list_resources():
                    wire: WireObject = {
                        "uri": gateway_uri(source.name, resource.uri),
                        "name": resource.name,
                        "description": resource.description,
                    }
                    if resource.mime_type is not None:
                        wire["mimeType"] = resource.mime_type
                    listed.append(wire)
        return listed

    async def templates(self, caller: Caller) -> list[WireObject]:
        """Resource templates under gateway URIs: a URI expanded from one routes back to its source."""
        listed: list[WireObject] = []
        for source in self._host.sources():
            if caller.reaches(source.name) and isinstance(source, TemplateLister):
                for template in await source.list_resource_templates():
                    wire: WireObject = {
                        "uriTemplate": gateway_template(source.name, template.uri_template),
                        "name": template.name,
                        "description": template.description,
                    }
                    if template.mime_type is not None:
                        wire["mimeType"] = template.mime_type
                    listed.append(wire)
        return listed

    async def find_resource(self, caller: Caller, uri: str) -> tuple[str, str]:
        """(source, original URI) of a gateway URI, or of an original URI only one source lists."""
        routed = split_gateway_uri(uri)
        running = {source.name for source in self._host.sources()}
        if routed is not None and caller.reaches(routed[0]) and routed[0] in running:
            return routed
        found = [
            (source.name, resource.uri)
            for source in self._host.sources()
            if caller.reaches(source.name)
            for resource in await source.list_resources()
            if resource.uri == uri
        ]
        if len(found) == 1:
            return found[0]
        if not found:
            found = [
                (source.name, uri)
                for source in self._host.sources()
                if caller.reaches(source.name)
                and isinstance(source, TemplateLister)
                and any(
                    template_pattern(template.uri_template).fullmatch(uri)
                    for template in await source.list_resource_templates()
                )
            ]
            if len(found) == 1:
                return found[0]  # made from the template of only one source
        raise UnknownResource(f"no resource '{uri}': list the resources to see the URIs this gateway offers")


def wire_tool(name: str, definition: ToolDef) -> WireObject:
    """A tool as ``tools/list`` shows it, under ``name``; schemas pass through untouched."""
    wire: WireObject = {
        "name": name,
        "description": definition.description,
        "inputSchema": dict(definition.input_schema),
    }
    if definition.title is not None:
        wire["title"] = definition.title
    if definition.output_schema is not None:
        wire["outputSchema"] = dict(definition.output_schema)
    notes = definition.annotations
    hints = {
        "title": notes.title,
        "readOnlyHint": notes.read_only,
        "destructiveHint": notes.destructive,
        "idempotentHint": notes.idempotent,
        "openWorldHint": notes.open_world,
    }
    if any(value is not None for value in hints.values()):
        wire["annotations"] = {key: value for key, value in hints.items() if value is not None}
    return wire


def gateway_uri(source: str, uri: str) -> str:
    return f"{RESOURCE_PREFIX}{source}/{quote(uri, safe='')}"


def gateway_template(source: str, uri_template: str) -> str:
    """A source's URI template as a gateway one: the literal parts quoted like ``gateway_uri``
    does, the ``{expressions}`` kept, so a URI a client expands from it splits back into the
    source and a URI its own template could have made."""
    parts: list[str] = []
    last = 0
    for expression in _EXPRESSION.finditer(uri_template):
        parts += [quote(uri_template[last : expression.start()], safe=""), expression.group()]
        last = expression.end()
    parts.append(quote(uri_template[last:], safe=""))
    return f"{RESOURCE_PREFIX}{source}/{''.join(parts)}"


@functools.lru_cache(maxsize=256)
def template_pattern(uri_template: str) -> re.Pattern[str]:
    """What URIs an RFC 6570 template can make, loosely: literal parts as they are, a ``{+x}``
    or ``{#x}`` expression any text, a query expression any query, others one path segment."""
    parts: list[str] = []
    last = 0
    for expression in _EXPRESSION.finditer(uri_template):
        parts.append(re.escape(uri_template[last : expression.start()]))
        operator = expression.group()[1:2]
        if operator in ("+", "#"):
            parts.append(".*")
        elif operator in ("?", "&"):
            parts.append(r"(?:[?&][^#]*)?")
        else:
            parts.append(r"[^/?#]*")
        last = expression.end()
    parts.append(re.escape(uri_template[last:]))
    return re.compile("".join(parts))


def split_gateway_uri(uri: str) -> tuple[str, str] | None:
    if not uri.startswith(RESOURCE_PREFIX):
        return None
    source, sep, quoted = uri.removeprefix(RESOURCE_PREFIX).partition("/")
    if not sep or not source or not quoted:
        return None
    return source, unquote(quoted)


def _same_catalogs(
    cached: tuple[tuple[str, Sequence[ToolDef]], ...], current: tuple[tuple[str, Sequence[ToolDef]], ...]
) -> bool:
    # Identity, not equality: a source hands out the same tuple until its catalog changes,
    # and the cache holds the old one, so a new catalog can never pass for it.
    return len(cached) == len(current) and all(
        a_name == b_name and a_tools is b_tools
        for (a_name, a_tools), (b_name, b_tools) in zip(cached, current, strict=True)
    )
