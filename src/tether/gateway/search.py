"""Tool search: two meta-tools in place of a big catalog, so a model's context is not flooded.

``search_tools(query, limit)`` ranks the caller's tools by how well their name, title and
description match the query's words; ``call_tool(name, arguments)`` calls one by name. The
call still goes through ``Host.call_tool``: policy, approvals and the activity log as ever.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tether.types import HostedTool

SEARCH_TOOL = "search_tools"
CALL_TOOL = "call_tool"
DEFAULT_LIMIT = 10
MAX_LIMIT = 50

_WORD = re.compile(r"[a-z0-9]+")

META_TOOLS: list[dict[str, Any]] = [
    {
        "name": SEARCH_TOOL,
        "description": (
            "Search the tools tether can call for you, by what they do. Returns the best matches "
            "with their names, descriptions and input schemas; call one with call_tool."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Words describing the tool you need."},
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LIMIT,
                    "default": DEFAULT_LIMIT,
                    "description": "How many tools to return at most.",
                },
            },
            "required": ["query"],
        },
        "annotations": {"readOnlyHint": True, "openWorldHint": False},
    },
    {
        "name": CALL_TOOL,
        "description": (
            "Call a tool found with search_tools, by its name, with arguments matching its input "
            "schema. The call may wait for the user's approval."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "The tool's name as search_tools gave it."},
                "arguments": {"type": "object", "description": "The tool's arguments."},
            },
            "required": ["name"],
        },
    },
]


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def rank(tools: Sequence[HostedTool], query: str, limit: int = DEFAULT_LIMIT) -> list[HostedTool]:
    """The ``limit`` tools that match ``query`` best; ties keep catalog order. An empty query
    matches everything."""
    wanted = set(words(query))
    scored: list[tuple[float, int, HostedTool]] = []
    for position, tool in enumerate(tools):
        score = _score(tool, wanted, query.strip().lower())
        if score > 0 or not wanted:
            scored.append((-score, position, tool))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [tool for _, _, tool in scored[: max(1, min(limit, MAX_LIMIT))]]


def _score(tool: HostedTool, wanted: set[str], phrase: str) -> float:
    if not wanted:
        return 0.0
    definition = tool.definition
    name_words = set(words(tool.qualified_name))
    title_words = set(words(definition.title or definition.annotations.title or ""))
    description_words = set(words(definition.description))
    score = 3.0 * len(wanted & name_words) + 2.0 * len(wanted & title_words) + len(wanted & description_words)
    if phrase in (tool.qualified_name.lower(), tool.name.lower()):
        score += 10.0
    # Every query word found somewhere beats a partial match with more repeats.
    if wanted <= name_words | title_words | description_words:
        score += 2.0
    return score
