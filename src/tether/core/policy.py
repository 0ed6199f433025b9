"""Policy: decide what happens to a call before it runs, and say why.

``decide`` is pure: it takes what is stored for the tool and its source and returns a
Decision with the effect, a reason a person can read, and the rule that produced it.
"""

from __future__ import annotations

from tether.types import Decision, Effect, HostedTool

RULE_TOOL = "tool"
RULE_SOURCE_SKIPS = "source.skip_approvals"
RULE_DEFAULT = "default"


def decide(tool: HostedTool, *, stored: Effect | None, source_skips_approvals: bool) -> Decision:
    """The tool's own setting wins; then the source's "skip approvals"; else ask."""
    if stored is Effect.BLOCK:
        return Decision(Effect.BLOCK, f"'{tool.qualified_name}' is blocked", RULE_TOOL)
    if stored is Effect.ALLOW:
        return Decision(Effect.ALLOW, f"'{tool.qualified_name}' is always allowed", RULE_TOOL)
    if stored is Effect.ASK:
        return Decision(Effect.ASK, f"'{tool.qualified_name}' is set to ask", RULE_TOOL)
    if source_skips_approvals:
        return Decision(Effect.ALLOW, f"source '{tool.source}' skips approvals", RULE_SOURCE_SKIPS)
    return Decision(Effect.ASK, "new tools ask before they run", RULE_DEFAULT)
