"""The context budget: above a number of tools, the model gets two meta-tools instead of every tool.

``search_tools`` finds tools by words in their name and description; ``call_tool`` calls one by
name. The call still goes through ``Host.call_tool``; this module only ranks and describes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from tether.types import HostedTool

SEARCH_TOOL = "search_tools"
CALL_TOOL = "call_tool"
DEFAULT_RESULTS = 8
MAX_RESULTS = 25
_WORD = re.compile(r"[a-z0-9]+")

SEARCH_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "Words to look for in tool names and descriptions."},
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS, "default": DEFAULT_RESULTS},
    },
    "required": ["query"],
}

CALL_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "The tool's full name, as search_tools returned it."},
        "arguments": {"type": "object", "description": "Arguments matching the tool's input schema."},
    },
    "required": ["name"],
}


def search_description(tools: Sequence[HostedTool]) -> str:
    sources = sorted({t.source for t in tools})
    return (
        f"Find tools among the {len(tools)} tools of {', '.join(sources)}. Returns each match's name, "
        f"description and input schema; then use {CALL_TOOL} to run one."
    )


CALL_DESCRIPTION = f"Call a tool found with {SEARCH_TOOL}, by its full name, with arguments for its schema."


def search(tools: Sequence[HostedTool], query: str, limit: int = DEFAULT_RESULTS) -> str:
    """The best matches for ``query`` as JSON text for the model (best first, at most ``limit``)."""
    words = set(_WORD.findall(query.lower()))
    scored: list[tuple[int, str, HostedTool]] = []
    for tool in tools:
        name_words = set(_WORD.findall(tool.qualified_name.lower()))
        text_words = set(
            _WORD.findall(f"{tool.definition.title or ''} {tool.definition.description}".lower())
        )
        score = 3 * len(words & name_words) + len(words & text_words)
        if score or not words:
            scored.append((-score, tool.qualified_name, tool))
    scored.sort(key=lambda item: (item[0], item[1]))
    found = [
        {
            "name": tool.qualified_name,
            "description": tool.definition.description,
            "input_schema": dict(tool.definition.input_schema),
        }
        for _, _, tool in scored[: max(1, min(limit, MAX_RESULTS))]
    ]
    if not found:
        return f"No tool matches {query!r}. Try other words, or fewer."
    return json.dumps(found, ensure_ascii=False)
