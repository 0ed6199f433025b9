"""Rules for names inside a bundle: no zip-slip, no clashes, no symlink that leaves the bundle.

Member names are judged as text before anything touches a disk; symlinks are resolved
against the other members the way the OS would resolve them once unpacked. Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_LINK_HOPS = 40


def name_problem(name: str) -> str | None:
    """Why a member name is unsafe, or None. Directory names end with '/'."""
    if not name or name == "/":
        return "an empty name"
    if "\\" in name:
        return "a backslash in the path"
    if name.startswith("/"):
        return "an absolute path"
    if _DRIVE.match(name):
        return "a drive letter"
    if any(ord(c) < 32 for c in name) or ":" in name:
        return "a control character or ':' in the path"
    parts = name.removesuffix("/").split("/")
    if any(part == ".." for part in parts):
        return "'..' in the path"
    if any(part in ("", ".") for part in parts):
        return "an empty or '.' path component"
    return None


def clash_key(name: str) -> str:
    """Two names with the same key land on the same file on some filesystem (case, Unicode
    normalization, Windows dropping trailing dots and spaces)."""
    parts = unicodedata.normalize("NFC", name.removesuffix("/")).casefold().split("/")
    return "/".join(part.rstrip(". ") for part in parts)


def parents(name: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]``."""
    parts = name.removesuffix("/").split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def resolve_link(name: str, links: Mapping[str, str]) -> str | None:
    """Where the symlink member ``name`` ends up, relative to the bundle root; None if it
    leaves the bundle, is absolute, or loops. ``links`` maps symlink members to targets."""
    stack = parents(name)[-1:]
    resolved: list[str] = stack[0].split("/") if stack else []
    pending = _split_target(links[name])
    if pending is None:
        return None
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        candidate = "/".join([*resolved, part])
        if candidate in links:
            hops += 1
            target = _split_target(links[candidate])
            if hops > MAX_LINK_HOPS or target is None:
                return None
            pending = target + pending
            continue
        resolved.append(part)
    return "/".join(resolved)


def _split_target(target: str) -> list[str] | None:
    if not target or target.startswith("/") or "\\" in target or _DRIVE.match(target) or "\0" in target:
        return None
    return target.split("/")
