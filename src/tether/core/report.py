"""The access report: what each source did, touched and may do without asking.

Built from activity records and the current policies, so it is pure; rendering to Markdown
is here too, JSON is the dataclass itself. "Since the last report" is the records after
the sequence number the previous report ended at.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlparse

from tether.core.policy import paths_in
from tether.types import JSON, ActivityRecord, Effect, SourceConfig

LAST_REPORT_SETTING = "report.last_seq"


@dataclass
class SourceAccess:
    source: str
    kind: str
    tool_calls: dict[str, int] = field(default_factory=dict[str, int])
    refused_calls: int = 0
    local_paths: list[str] = field(default_factory=list[str])
    remote_hosts: list[str] = field(default_factory=list[str])
    allowed_without_asking: list[str] = field(default_factory=list[str])
    changes_since_last_report: list[str] = field(default_factory=list[str])


@dataclass
class AccessReport:
    since: str | None
    until_seq: int
    previous_report_seq: int
    sources: list[SourceAccess]


def build_report(
    records: Iterable[ActivityRecord],
    *,
    configs: Sequence[SourceConfig],
    effects: Mapping[tuple[str, str], Effect],
    since: datetime | None,
    previous_report_seq: int,
) -> AccessReport:
    by_source = {c.name: _empty(c) for c in configs}
    paths: dict[str, set[str]] = collections.defaultdict(set)
    hosts: dict[str, set[str]] = collections.defaultdict(set)
    last_seq = previous_report_seq
    for record in records:
        last_seq = max(last_seq, record.seq)
        if record.source is None:
            continue
        access = by_source.setdefault(record.source, SourceAccess(record.source, "removed"))
        if record.seq > previous_report_seq and record.kind != "tool.called":
            access.changes_since_last_report.append(_describe_change(record))
        if record.kind != "tool.called" or (since is not None and record.at < since):
            continue
        if record.data.get("outcome") in ("refused", "invalid"):
            access.refused_calls += 1
            continue
        tool = record.tool or "?"
        access.tool_calls[tool] = access.tool_calls.get(tool, 0) + 1
        arguments: JSON = record.data.get("arguments", {})
        for path in paths_in(arguments):
            paths[record.source].add(path)
        for url in _urls_in(arguments):
            hosts[record.source].add(url)
    for config in configs:
        if config.url and (host := urlparse(config.url).hostname):
            hosts[config.name].add(host)
        access = by_source[config.name]
        if config.skip_approvals:
            access.allowed_without_asking.append("every tool (the source skips approvals)")
    for (source, tool), effect in sorted(effects.items()):
        if effect is Effect.ALLOW and source in by_source:
            by_source[source].allowed_without_asking.append(tool)
    for name, access in by_source.items():
        access.local_paths = sorted(paths[name])
        access.remote_hosts = sorted(hosts[name])
    return AccessReport(
        since=since.isoformat() if since else None,
        until_seq=last_seq,
        previous_report_seq=previous_report_seq,
        sources=sorted(by_source.values(), key=lambda a: a.source),
    )


def render_markdown(report: AccessReport) -> str:
    lines = ["# tether access report", ""]
    lines.append(f"Tool calls since {report.since}." if report.since else "All recorded tool calls.")
    lines.append("")
    for access in report.sources:
        lines += [f"## {access.source} ({access.kind})", ""]
        if access.tool_calls:
            calls = ", ".join(f"`{tool}` ×{count}" for tool, count in sorted(access.tool_calls.items()))
            lines.append(f"- Tools that ran: {calls}")
        else:
            lines.append("- No tool ran.")
        if access.refused_calls:
            lines.append(f"- Refused calls: {access.refused_calls}")
        lines.append("- Local paths in arguments: " + (_codes(access.local_paths) or "none"))
        lines.append("- Remote hosts: " + (_codes(access.remote_hosts) or "none"))
        lines.append("- Allowed without asking: " + (_codes(access.allowed_without_asking) or "nothing"))
        if access.changes_since_last_report:
            lines.append("- Changed since the last report:")
            lines += [f"  - {change}" for change in access.changes_since_last_report]
        lines.append("")
    return "\n".join(lines)


def _empty(config: SourceConfig) -> SourceAccess:
    return SourceAccess(config.name, "local" if config.kind.value == "stdio" else "remote")


def _describe_change(record: ActivityRecord) -> str:
    data: Mapping[str, Any] = record.data
    when = record.at.strftime("%Y-%m-%d %H:%M")
    if record.kind == "policy.changed":
        return f"{when} `{record.tool}` set to {data.get('effect')} by {record.actor}"
    if record.kind == "tools.changed":
        parts = [
            f"{label}: {', '.join(data[key])}"
            for key, label in (("added", "added"), ("removed", "removed"), ("changed", "changed"))
            if data.get(key)
        ]
        return f"{when} tools {'; '.join(parts)}"
    return f"{when} {record.kind} by {record.actor}"


def _urls_in(value: JSON) -> list[str]:
    if isinstance(value, str):
        if value.startswith(("http://", "https://")):
            host = urlparse(value).hostname
            return [host] if host else []
        return []
    if isinstance(value, Mapping):
        return [h for v in cast(Mapping[str, JSON], value).values() for h in _urls_in(v)]
    if isinstance(value, list):
        return [h for v in cast(list[JSON], value) for h in _urls_in(v)]
    return []


def _codes(items: Sequence[str]) -> str:
    return ", ".join(f"`{item}`" for item in items)
