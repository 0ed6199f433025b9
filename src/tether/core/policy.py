"""Policy: decide what happens to a call before it runs, and say why.

``decide`` is pure: it takes what is stored for the tool, the rules the user turned on and
the call's arguments, and returns a Decision with the effect, a reason a person can read,
and the rule that produced it. The order of the checks below is the policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import cast

from tether.core.pinning import definition_hash
from tether.core.storage import ToolPolicy
from tether.types import JSON, Decision, Effect, HostedTool

RULE_TOOL = "tool"
RULE_PIN_CHANGED = "pinning.changed"
RULE_SOURCE_SKIPS = "source.skip_approvals"
RULE_DEFAULT = "default"
RULES_SETTING = "policy.rules"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    summary: str


ALLOW_READ_ONLY = Rule(
    "allow-read-only",
    "Allow tools that declare themselves read-only (readOnlyHint) without asking. The hint comes "
    "from the server, so only turn this on for servers you trust.",
)
ASK_DESTRUCTIVE = Rule(
    "ask-destructive",
    "Always ask before tools that declare destructiveHint, even when their source skips approvals "
    "or the read-only rule would allow them. A tool you set to Always allow yourself still runs.",
)
BLOCK_OUTSIDE_GRANTS = Rule(
    "block-outside-grants",
    "Block calls to an extension whose arguments name a path outside the directories granted to "
    "that extension in its settings.",
)
RULES: dict[str, Rule] = {
    rule.name: rule for rule in (ALLOW_READ_ONLY, ASK_DESTRUCTIVE, BLOCK_OUTSIDE_GRANTS)
}


def decide(
    tool: HostedTool,
    *,
    stored: ToolPolicy,
    source_skips_approvals: bool,
    rules: Iterable[str] = (),
    arguments: Mapping[str, JSON] | None = None,
    grants: Sequence[str] | None = None,
) -> Decision:
    """Block beats everything; a changed definition asks again; then the tool's own setting, the
    destructive rule, the source's "skip approvals", the read-only rule; else ask."""
    on = set(rules)
    name = tool.qualified_name
    annotations = tool.definition.annotations
    if stored.effect is Effect.BLOCK:
        return Decision(Effect.BLOCK, f"'{name}' is blocked", RULE_TOOL)
    if BLOCK_OUTSIDE_GRANTS.name in on and grants is not None and arguments is not None:
        outside = paths_outside(arguments, grants)
        if outside:
            return Decision(
                Effect.BLOCK,
                f"'{name}' names {outside[0]}, outside the directories granted to '{tool.source}'",
                BLOCK_OUTSIDE_GRANTS.name,
            )
    if stored.pinned_hash is not None and stored.pinned_hash != definition_hash(tool.definition):
        return Decision(
            Effect.ASK,
            f"'{name}' changed since it was approved: review with `tether tools diff {name}`",
            RULE_PIN_CHANGED,
        )
    if stored.effect is Effect.ALLOW:
        return Decision(Effect.ALLOW, f"'{name}' is always allowed", RULE_TOOL)
    if stored.effect is Effect.ASK:
        return Decision(Effect.ASK, f"'{name}' is set to ask", RULE_TOOL)
    if ASK_DESTRUCTIVE.name in on and annotations.destructive:
        return Decision(Effect.ASK, f"'{name}' declares itself destructive", ASK_DESTRUCTIVE.name)
    if source_skips_approvals:
        return Decision(Effect.ALLOW, f"source '{tool.source}' skips approvals", RULE_SOURCE_SKIPS)
    if ALLOW_READ_ONLY.name in on and annotations.read_only:
        return Decision(Effect.ALLOW, f"'{name}' declares itself read-only", ALLOW_READ_ONLY.name)
    return Decision(Effect.ASK, "new tools ask before they run", RULE_DEFAULT)


_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")


def paths_in(value: JSON) -> list[str]:
    """Every string in ``value`` (at any depth) that reads as an absolute or home-relative path."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("/", "~", "file://")) or _WINDOWS_ABSOLUTE.match(text):
            return [text]
        return []
    if isinstance(value, Mapping):
        return [p for v in cast(Mapping[str, JSON], value).values() for p in paths_in(v)]
    if isinstance(value, list | tuple):
        return [p for v in cast(Sequence[JSON], value) for p in paths_in(v)]
    return []


def paths_outside(arguments: Mapping[str, JSON], grants: Sequence[str]) -> list[str]:
    """Paths named in ``arguments`` that are under none of ``grants``, judged lexically.

    Symlinks cannot be seen from here; the sandbox is what enforces grants for real.
    """
    roots = [_normalized(g) for g in grants]
    return [p for p in paths_in(dict(arguments)) if not any(_is_under(_normalized(p), r) for r in roots)]


def _normalized(path: str) -> tuple[str, ...]:
    text = path.removeprefix("file://")
    pure = PureWindowsPath(text) if _WINDOWS_ABSOLUTE.match(text) else PurePosixPath(text)
    parts: list[str] = []
    for part in pure.parts:
        if part == "..":
            if len(parts) > 1:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return tuple(parts)


def _is_under(path: tuple[str, ...], root: tuple[str, ...]) -> bool:
    return path[: len(root)] == root
