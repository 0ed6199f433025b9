"""Tool pinning: the definition a user approved is remembered by hash.

When a server later presents a different definition for the same tool (a "rug pull" or
a plain update), the tool goes back to asking until someone reviews the change.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json

from tether.types import JSON, ToolDef


def definition_json(definition: ToolDef) -> dict[str, JSON]:
    """The parts of a definition a user approves: name, description, schema, annotations."""
    return {
        "name": definition.name,
        "title": definition.title,
        "description": definition.description,
        "input_schema": definition.input_schema,
        "output_schema": definition.output_schema,
        "annotations": dataclasses.asdict(definition.annotations),
    }


def definition_hash(definition: ToolDef) -> str:
    text = json.dumps(definition_json(definition), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def definition_diff(pinned: ToolDef, current: ToolDef) -> str:
    """A unified diff of the two definitions as indented JSON; empty when they are the same."""
    before = json.dumps(definition_json(pinned), indent=2, sort_keys=True, default=str).splitlines()
    after = json.dumps(definition_json(current), indent=2, sort_keys=True, default=str).splitlines()
    return "\n".join(difflib.unified_diff(before, after, "approved", "now", lineterm=""))
