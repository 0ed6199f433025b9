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
    # Every call compares the tool's hash with its pin: remember it for the definition object.
    cached = _HASHES.get(id(definition))
    if cached is not None and cached[0] is definition:
        return cached[1]
    text = json.dumps(definition_json(definition), sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if len(_HASHES) >= _MAX_HASHES:
        _HASHES.clear()
    _HASHES[id(definition)] = (definition, digest)  # holding it keeps the id from being reused
    return digest


_HASHES: dict[int, tuple[ToolDef, str]] = {}
_MAX_HASHES = 4096


def definition_diff(pinned: ToolDef, current: ToolDef) -> str:
    """A unified diff of the two definitions as indented JSON; empty when they are the same."""
    before = json.dumps(definition_json(pinned), indent=2, sort_keys=True, default=str).splitlines()
    after = json.dumps(definition_json(current), indent=2, sort_keys=True, default=str).splitlines()
    return "\n".join(difflib.unified_diff(before, after, "approved", "now", lineterm=""))
