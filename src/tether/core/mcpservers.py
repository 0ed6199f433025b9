"""The ``mcpServers`` JSON other MCP clients use, read and written.

Claude Desktop (``claude_desktop_config.json``), Claude Code (``.mcp.json``), Cursor
(``mcp.json``) and VS Code (``mcp.json`` with ``servers``) share one shape with small
variations. Parsing is pure: it returns configs and the list of what it could not take.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from tether.core.tools import SEPARATOR, check_source_name
from tether.errors import ImportFormatError, InvalidName
from tether.types import SourceConfig, SourceKind

_KNOWN_FIELDS = {"type", "command", "args", "env", "cwd", "url", "headers", "disabled", "timeout"}
_TOP_LEVEL_KEYS = ("mcpServers", "servers")


@dataclass
class ImportReport:
    sources: list[SourceConfig] = field(default_factory=list[SourceConfig])
    imported: list[str] = field(default_factory=list[str])
    problems: list[str] = field(default_factory=list[str])


def parse_mcp_servers(text: str) -> ImportReport:
    """Read an mcpServers document; raise ImportFormatError only when nothing can be read."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFormatError(
            f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}): "
            "fix the file and import again"
        ) from None
    if not isinstance(document, dict):
        raise ImportFormatError("expected a JSON object with an 'mcpServers' (or VS Code 'servers') key")
    document = cast(dict[str, Any], document)
    key = next((k for k in _TOP_LEVEL_KEYS if k in document), None)
    if key is None:
        raise ImportFormatError("no 'mcpServers' or 'servers' key found: is this an MCP client config file?")
    servers = document[key]
    if not isinstance(servers, dict):
        raise ImportFormatError(f"'{key}' must be an object mapping names to servers")

    report = ImportReport()
    taken: set[str] = set()
    for raw_name, raw in cast(dict[str, Any], servers).items():
        name = _source_name(raw_name, taken)
        taken.add(name)
        where = f"'{raw_name}'"
        if name != raw_name:
            report.problems.append(f"{where} was renamed to '{name}' (source names are lowercase, no '__')")
        if not isinstance(raw, dict):
            report.problems.append(f"{where}: not an object; skipped")
            continue
        config = _parse_server(name, cast(dict[str, Any], raw), where, report.problems)
        if config is not None:
            report.sources.append(config)
    return report


def _parse_server(name: str, raw: dict[str, Any], where: str, problems: list[str]) -> SourceConfig | None:
    for unknown in sorted(raw.keys() - _KNOWN_FIELDS):
        problems.append(f"{where}: unknown field '{unknown}' ignored")
    kind_text = str(raw.get("type") or ("http" if "url" in raw else "stdio"))
    if kind_text == "streamable-http":
        kind_text = "http"
    try:
        kind = SourceKind(kind_text)
    except ValueError:
        problems.append(f"{where}: unknown type '{kind_text}' (expected stdio, http or sse); skipped")
        return None
    if raw.get("headers"):
        problems.append(
            f"{where}: headers were not imported (they may hold secrets): add them with "
            f"`tether connector add {name} URL --header K=V`"
        )
    env: object = raw.get("env") or {}
    args: object = raw.get("args") or []
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in cast(dict[str, Any], env).values()):
        problems.append(f"{where}: 'env' must map names to strings; skipped")
        return None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in cast(list[Any], args)):
        problems.append(f"{where}: 'args' must be a list of strings; skipped")
        return None
    env = cast(dict[str, str], env)
    args = cast(list[str], args)
    if any("${input:" in value for value in [*env.values(), *args]):
        problems.append(
            f"{where}: '${{input:...}}' placeholders are VS Code prompts; fill them in with tether"
        )
    timeout_ms = raw.get("timeout")
    timeout_s = float(timeout_ms) / 1000 if isinstance(timeout_ms, int | float) and timeout_ms > 0 else 60.0
    common: dict[str, Any] = {
        "name": name,
        "is_enabled": not raw.get("disabled", False),
        "call_timeout_s": timeout_s,
    }

    if kind is SourceKind.STDIO:
        command = raw.get("command")
        if not isinstance(command, str) or not command:
            problems.append(f"{where}: a local server needs a 'command'; skipped")
            return None
        cwd = raw.get("cwd")
        return SourceConfig(
            kind=kind,
            command=command,
            args=tuple(args),
            env=env,
            cwd=cwd if isinstance(cwd, str) else None,
            **common,
        )
    url = raw.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        problems.append(f"{where}: a remote server needs an http(s) 'url'; skipped")
        return None
    return SourceConfig(kind=kind, url=url, **common)


def _source_name(raw: str, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", raw.strip().lower()).strip("-_") or "server"
    while SEPARATOR in name:
        name = name.replace(SEPARATOR, "_")
    name = name[:40]
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    try:
        return check_source_name(candidate)
    except InvalidName:
        return f"server-{len(taken) + 1}"


def render_mcp_servers(
    configs: Sequence[SourceConfig], header_names: Mapping[str, Sequence[str]] | None = None
) -> str:
    """Configs as a ``claude_desktop_config.json``-style document (env values included: the user asked).

    A connector's static headers (``header_names``: source name -> header names) are secrets
    kept in the secret store: they are written as ``${VARIABLE}`` placeholders, never values.
    """
    servers: dict[str, Mapping[str, Any]] = {}
    for config in configs:
        entry: dict[str, Any]
        if config.kind is SourceKind.STDIO:
            entry = {"command": config.command, "args": list(config.args)}
            if config.env:
                entry["env"] = dict(config.env)
            if config.cwd:
                entry["cwd"] = config.cwd
        else:
            entry = {"type": config.kind.value, "url": config.url}
            names = (header_names or {}).get(config.name, ())
            if names:
                entry["headers"] = {name: "${" + header_variable(config.name, name) + "}" for name in names}
        if not config.is_enabled:
            entry["disabled"] = True
        servers[config.name] = entry
    return json.dumps({"mcpServers": servers}, indent=2) + "\n"


def header_variable(source: str, header: str) -> str:
    """The environment variable an exported header's placeholder names: ``linear`` +
    ``X-Api-Key`` -> ``LINEAR_X_API_KEY``."""
    return re.sub(r"[^A-Z0-9]+", "_", f"{source}_{header}".upper()).strip("_")
