"""Reading and writing the mcpServers JSON of Claude Desktop, Claude Code, Cursor and VS Code."""

from __future__ import annotations

import json

import pytest

from tether.core.mcpservers import parse_mcp_servers, render_mcp_servers
from tether.errors import ImportFormatError
from tether.types import SourceConfig, SourceKind

CLAUDE_DESKTOP = {
    "mcpServers": {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
        "GitHub Tools": {"command": "gh-mcp", "env": {"GITHUB_TOKEN": "ghp_x"}},
        "linear": {"type": "http", "url": "https://mcp.linear.app/mcp"},
    },
    "globalShortcut": "Ctrl+Space",
}


def test_claude_desktop_servers_are_read_with_env_and_remote_entries() -> None:
    report = parse_mcp_servers(json.dumps(CLAUDE_DESKTOP))
    by_name = {c.name: c for c in report.sources}
    assert by_name["filesystem"].args == ("-y", "@modelcontextprotocol/server-filesystem", "/tmp")
    assert by_name["github-tools"].env == {"GITHUB_TOKEN": "ghp_x"}
    assert by_name["linear"].kind is SourceKind.HTTP
    assert by_name["linear"].url == "https://mcp.linear.app/mcp"
    assert any("renamed to 'github-tools'" in p for p in report.problems)


def test_vs_code_servers_key_and_sse_type_are_understood() -> None:
    text = json.dumps(
        {
            "servers": {
                "legacy": {"type": "sse", "url": "http://127.0.0.1:9/sse"},
                "local": {"type": "stdio", "command": "srv"},
            },
            "inputs": [],
        }
    )
    kinds = {c.name: c.kind for c in parse_mcp_servers(text).sources}
    assert kinds == {"legacy": SourceKind.SSE, "local": SourceKind.STDIO}


def test_unknown_fields_and_unusable_entries_are_reported_not_fatal() -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "a": {"command": "x", "autoApprove": ["t"]},
                "b": {"args": ["no command"]},
                "c": {"type": "websocket", "url": "ws://x"},
                "d": {"type": "http", "url": "https://x", "headers": {"Authorization": "Bearer s"}},
            }
        }
    )
    report = parse_mcp_servers(text)
    assert [c.name for c in report.sources] == ["a", "d"]
    problems = "\n".join(report.problems)
    assert "unknown field 'autoApprove'" in problems
    assert "'b': a local server needs a 'command'" in problems
    assert "unknown type 'websocket'" in problems
    assert "headers were not imported" in problems


@pytest.mark.parametrize("text", ["{not json", "[]", '{"other": {}}', '{"mcpServers": []}'])
def test_a_file_that_is_not_an_mcp_config_is_refused(text: str) -> None:
    with pytest.raises(ImportFormatError):
        parse_mcp_servers(text)


def test_export_round_trips_through_import() -> None:
    configs = [
        SourceConfig(name="notes", command="notes-mcp", args=("--root", "/tmp"), env={"K": "v"}),
        SourceConfig(name="tasks", kind=SourceKind.HTTP, url="https://example.invalid/mcp", is_enabled=False),
    ]
    again = parse_mcp_servers(render_mcp_servers(configs))
    assert again.problems == []
    assert again.sources == configs


def test_a_connectors_headers_are_exported_as_placeholders_never_values() -> None:
    configs = [SourceConfig(name="linear", kind=SourceKind.HTTP, url="https://mcp.linear.app/mcp")]
    text = render_mcp_servers(configs, {"linear": ["Authorization", "X-Api-Key"]})
    entry = json.loads(text)["mcpServers"]["linear"]
    assert entry["headers"] == {
        "Authorization": "${LINEAR_AUTHORIZATION}",
        "X-Api-Key": "${LINEAR_X_API_KEY}",
    }
    again = parse_mcp_servers(text)
    assert again.sources == configs
    assert any("headers were not imported" in problem for problem in again.problems)
