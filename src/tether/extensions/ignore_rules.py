"""Which files ``mcpb pack`` leaves out: its default list plus ``.mcpbignore`` (gitignore rules).

Same semantics as the reference CLI, which feeds both to the ``ignore`` npm package:
``*``, ``?``, ``[...]``, ``**``, trailing ``/`` for directories, ``!`` to re-include (but
not inside an ignored directory), patterns with a ``/`` anchored at the bundle root. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# src/node/files.ts EXCLUDE_PATTERNS
DEFAULT_EXCLUDES = (
    ".DS_Store", "Thumbs.db", ".gitignore", ".git", ".mcpbignore", "*.log", ".env*", ".npm",
    ".npmrc", ".yarnrc", ".yarn", ".eslintrc", ".editorconfig", ".prettierrc", ".prettierignore",
    ".eslintignore", ".nycrc", ".babelrc", ".pnp.*", "node_modules/.cache", "node_modules/.bin",
    "*.map", ".env.local", ".env.*.local", "npm-debug.log*", "yarn-debug.log*", "yarn-error.log*",
    "package-lock.json", "yarn.lock", "*.mcpb", "*.d.ts", "*.tsbuildinfo", "tsconfig.json",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Rule:
    regex: re.Pattern[str]
    is_negated: bool
    is_dir_only: bool


class IgnoreRules:
    """Decide whether a relative path (``/``-separated) is left out of the bundle."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._rules = [rule for rule in (_compile(p) for p in patterns) if rule is not None]

    @classmethod
    def for_pack(cls, mcpbignore_text: str | None) -> IgnoreRules:
        """The defaults plus the lines of a ``.mcpbignore`` (trimmed, no blanks, no comments)."""
        lines = [line.strip() for line in (mcpbignore_text or "").splitlines()]
        return cls([*DEFAULT_EXCLUDES, *(line for line in lines if line and not line.startswith("#"))])

    def ignores(self, path: str, *, is_dir: bool = False) -> bool:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            if self._matches("/".join(parts[:depth]), is_dir=True):
                return True
        return self._matches("/".join(parts), is_dir=is_dir)

    def _matches(self, path: str, *, is_dir: bool) -> bool:
        ignored = False
        for rule in self._rules:
            if rule.is_negated != ignored:
                continue  # only a rule that would change the answer matters
            if rule.is_dir_only and not is_dir:
                continue
            if rule.regex.match(path):
                ignored = not rule.is_negated
        return ignored


def _compile(pattern: str) -> _Rule | None:
    is_negated = pattern.startswith("!")
    if is_negated or pattern.startswith(("\\!", "\\#")):
        pattern = pattern[1:]
    is_dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    if not pattern:
        return None
    is_anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    body = _glob_to_regex(pattern)
    prefix = "^" if is_anchored else "^(?:.*/)?"
    return _Rule(re.compile(prefix + body + "$", re.DOTALL), is_negated, is_dir_only)


def _glob_to_regex(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i) and (i == 0 or glob[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and (end := glob.find("]", i + 2)) != -1:
            inner = glob[i + 1 : end]
            if inner.startswith("!"):
                inner = "^" + inner[1:]
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = end + 1
        elif glob[i] == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)
