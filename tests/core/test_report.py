"""The access report: per source, what ran, what it touched, what may run without asking."""

from __future__ import annotations

from datetime import UTC, datetime

from tether.core.activity import GENESIS_HASH, ActivityEvent, PolicyChanged, ToolCalled, seal
from tether.core.report import build_report, render_markdown
from tether.types import ActivityRecord, Effect, SourceConfig, SourceKind

CONFIGS = [
    SourceConfig(name="files", command="files-mcp"),
    SourceConfig(
        name="tasks", kind=SourceKind.HTTP, url="https://tasks.example.invalid/mcp", skip_approvals=True
    ),
]


def _records(*events: ActivityEvent) -> list[ActivityRecord]:
    out: list[ActivityRecord] = []
    prev = GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        record = seal(event, actor="cli:me", at=datetime(2026, 11, 1, tzinfo=UTC), seq=seq, prev_hash=prev)
        out.append(record)
        prev = record.hash
    return out


def test_the_report_names_tools_paths_hosts_and_standing_permissions() -> None:
    records = _records(
        ToolCalled(source="files", tool="read", arguments={"path": "/home/me/notes.md"}),
        ToolCalled(source="files", tool="read", arguments={"path": "/home/me/plan.pdf"}),
        ToolCalled(source="files", tool="write", arguments={"path": "/etc/x"}, outcome="refused"),
        ToolCalled(source="tasks", tool="create", arguments={"link": "https://docs.example.invalid/a"}),
        PolicyChanged(source="files", tool="read", effect="allow"),
    )
    report = build_report(
        records, configs=CONFIGS, effects={("files", "read"): Effect.ALLOW}, since=None, previous_report_seq=3
    )
    files, tasks = report.sources
    assert files.tool_calls == {"read": 2}
    assert files.refused_calls == 1
    assert files.local_paths == ["/home/me/notes.md", "/home/me/plan.pdf"]
    assert files.allowed_without_asking == ["read"]
    assert len(files.changes_since_last_report) == 1
    assert tasks.remote_hosts == ["docs.example.invalid", "tasks.example.invalid"]
    assert tasks.allowed_without_asking == ["every tool (the source skips approvals)"]
    assert report.until_seq == 5
    markdown = render_markdown(report)
    assert "## files (local)" in markdown
    assert "`read` ×2" in markdown
