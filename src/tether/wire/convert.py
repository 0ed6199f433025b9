"""From MCP wire types (the ``mcp`` SDK's pydantic models) to tether's frozen dataclasses.

Content blocks stay JSON-shaped so a result passes through tether unchanged. This module
only converts: it talks to nothing.
"""

from __future__ import annotations

from typing import Any

from mcp import types
from pydantic import BaseModel

from tether.types import (
    JSONObject,
    PromptDef,
    ResourceDef,
    ResourceTemplateDef,
    ToolAnnotations,
    ToolDef,
    ToolResult,
)


def _as_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def to_tool_def(tool: types.Tool) -> ToolDef:
    wire = _as_json(tool)
    hints = tool.annotations
    return ToolDef(
        name=tool.name,
        description=tool.description or "",
        input_schema=wire.get("inputSchema", {"type": "object"}),
        output_schema=wire.get("outputSchema"),
        annotations=ToolAnnotations(
            title=hints.title,
            read_only=hints.read_only_hint,
            destructive=hints.destructive_hint,
            idempotent=hints.idempotent_hint,
            open_world=hints.open_world_hint,
        )
        if hints is not None
        else ToolAnnotations(),
        title=tool.title,
    )


def to_prompt_def(prompt: types.Prompt) -> PromptDef:
    return PromptDef(
        name=prompt.name,
        description=prompt.description or "",
        arguments=tuple(_as_json(argument) for argument in prompt.arguments or ()),
    )


def to_resource_def(resource: types.Resource) -> ResourceDef:
    return ResourceDef(
        uri=str(resource.uri),
        name=resource.name,
        description=resource.description or "",
        mime_type=resource.mime_type,
    )


def to_template_def(template: types.ResourceTemplate) -> ResourceTemplateDef:
    return ResourceTemplateDef(
        uri_template=template.uri_template,
        name=template.name,
        description=template.description or "",
        mime_type=template.mime_type,
    )


def to_tool_result(result: types.CallToolResult) -> ToolResult:
    structured: JSONObject | None = result.structured_content
    return ToolResult(
        content=tuple(_as_json(block) for block in result.content),
        structured=structured,
        is_error=bool(result.is_error),
    )
