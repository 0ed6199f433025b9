"""What ``tether ext`` prints: install and update reports, the list, one extension's details.

Details are built as JSON-ready dicts first (``--json`` prints them as they are), then
rendered with Rich. Sensitive settings are shown as ``[redacted]``, never their values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from tether.app import App
from tether.cli.runtime import console
from tether.core.storage import InstalledExtension
from tether.errors import InvalidSignature
from tether.extensions.installed import manifest_of
from tether.extensions.installer import InstallReport, ToolComparison
from tether.extensions.layout import ExtensionPaths
from tether.extensions.pack import BundleReport
from tether.extensions.settings import missing_required, redacted
from tether.extensions.signature import SignatureResult, SignatureStatus
from tether.types import SourceState, SourceStatus

_SIGNATURE_WORDS = {
    "unsigned": "unsigned",
    "signed": "signed",
    "self_signed": "self-signed (not trusted)",
    "untrusted": "signed, but not by anyone tether trusts",
}


def signature_text(status: str, signer: str | None) -> str:
    words = _SIGNATURE_WORDS.get(status, status)
    return f"{words} by {signer}" if signer and status != "unsigned" else words


def status_text(status: SourceStatus) -> str:
    text = status.state.value.replace("_", " ")
    return f"{text}: {status.detail}" if status.detail else text


# -- install / update / config ---------------------------------------------------------------


def print_installed(report: InstallReport) -> None:
    extension, manifest = report.extension, report.manifest
    verb = f"updated {report.previous_version} ->" if report.previous_version else "installed"
    console.print(f"{verb} [bold]{extension.id}[/] {manifest.version} ({manifest.title})", highlight=False)
    console.print(f"  signature: {_signature_line(report.signature)}", highlight=False)
    for warning in report.warnings:
        console.print(f"  [yellow]warning[/]: {warning}", highlight=False)
    declared = [tool.name for tool in manifest.tools]
    console.print(
        f"  tools it declares: {', '.join(declared) if declared else '(none declared)'}", highlight=False
    )
    _print_start(extension.id, report)


def print_configured(report: InstallReport) -> None:
    console.print(f"settings of [bold]{report.extension.id}[/] saved", highlight=False)
    _print_start(report.extension.id, report)


def _print_start(extension_id: str, report: InstallReport) -> None:
    if report.missing:
        names = ", ".join(f"{o.title} ({o.key})" for o in report.missing)
        console.print(
            f"  [yellow]not started[/]: needs settings {names}: run `tether ext config {extension_id}`",
            highlight=False,
        )
        return
    started = report.started
    if started is None:
        return
    if started.status.state is SourceState.RUNNING:
        console.print(
            f"  running: lists {len(started.tools)} tools: {', '.join(started.tools)}", highlight=False
        )
        if report.tools is not None and report.tools.differs:
            _print_differences(report.tools)
        console.print(
            "  every tool asks before it runs: change that with `tether policy set`", highlight=False
        )
        return
    console.print(f"  [red]did not start[/]: {status_text(started.status)}", highlight=False)
    for line in started.status.stderr_tail[-10:]:
        console.print(f"    | {line}", highlight=False)
    console.print(f"  see `tether source logs {extension_id}`", highlight=False)


def _print_differences(tools: ToolComparison) -> None:
    if tools.undeclared:
        console.print(
            f"  [yellow]listed but not declared in its manifest[/]: {', '.join(tools.undeclared)}",
            highlight=False,
        )
    if tools.not_listed:
        console.print(
            f"  [yellow]declared in its manifest but not listed[/]: {', '.join(tools.not_listed)}",
            highlight=False,
        )


def _signature_line(signature: SignatureResult) -> str:
    if signature.status is SignatureStatus.SELF_SIGNED:
        return f"valid signature, self-signed (not trusted) by {signature.subject}"
    if signature.status is SignatureStatus.SIGNED:
        return f"signed by {signature.subject}"
    if signature.status is SignatureStatus.UNTRUSTED:
        return f"valid signature by {signature.subject}, not trusted ({signature.reason})"
    return str(signature)


# -- list and info ---------------------------------------------------------------------------


async def extension_rows(tether: App) -> list[dict[str, Any]]:
    sources = {s.name: s for s in await tether.store.list_sources()}
    statuses = tether.host.statuses()
    installer = tether.extensions()
    rows: list[dict[str, Any]] = []
    for extension in await tether.store.list_extensions():
        manifest = manifest_of(extension)
        missing = missing_required(manifest, installer.values(extension))
        source = sources.get(extension.id)
        live = statuses.get(extension.id)
        if live is not None:
            state = status_text(live)
        elif missing:
            state = "needs settings: " + ", ".join(o.key for o in missing)
        else:
            state = "enabled" if source is not None and source.is_enabled else "disabled"
        rows.append(
            {
                "id": extension.id,
                "title": manifest.title,
                "version": extension.version,
                "is_enabled": source.is_enabled if source is not None else False,
                "signature": extension.signature,
                "signer": extension.signer,
                "status": state,
                "description": manifest.description,
            }
        )
    return rows


def print_list(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no extensions yet: install one with `tether ext install BUNDLE.mcpb`")
        return
    table = Table("id", "version", "signature", "status", "description")
    for row in rows:
        table.add_row(
            row["id"],
            row["version"],
            signature_text(row["signature"], None),
            row["status"],
            str(row["description"])[:60],
        )
    console.print(table)


async def extension_details(tether: App, extension_id: str, *, start: bool) -> dict[str, Any]:
    extension = await tether.store.get_extension(extension_id)
    source = await tether.store.get_source(extension_id)
    manifest = manifest_of(extension)
    values = tether.extensions().values(extension)
    missing = missing_required(manifest, values)
    status: SourceStatus | None = None
    if start and source.is_enabled:
        status = (await tether.start_extension(extension_id)).status
    listed = [tool.name for tool in await tether.store.known_tools(extension_id)]
    declared = [tool.name for tool in manifest.tools]
    comparison = ToolComparison(tuple(declared), tuple(listed)) if listed else None
    paths = ExtensionPaths(tether.settings.home, extension_id)
    return {
        "id": extension.id,
        "title": manifest.title,
        "version": extension.version,
        "description": manifest.description,
        "author": manifest.author.name,
        "server_type": manifest.server.type.value,
        "is_enabled": source.is_enabled,
        "signature": extension.signature,
        "signer": extension.signer,
        "install_dir": extension.install_dir,
        "data_dir": str(paths.data_dir),
        "installed_at": extension.installed_at.isoformat(),
        "updated_at": extension.updated_at.isoformat(),
        "settings": redacted(manifest, values),
        "missing_settings": [option.key for option in missing],
        "declared_tools": declared,
        "listed_tools": listed,
        "undeclared_tools": list(comparison.undeclared) if comparison else [],
        "not_listed_tools": list(comparison.not_listed) if comparison else [],
        "tools_generated": manifest.tools_generated,
        "privacy_policies": list(manifest.privacy_policies),
        "status": None
        if status is None
        else {
            "state": status.state.value,
            "detail": status.detail,
            "restarts": status.restarts,
            "stderr_tail": list(status.stderr_tail),
        },
    }


def print_details(details: dict[str, Any]) -> None:
    console.print(f"[bold]{details['id']}[/] {details['version']}: {details['title']}", highlight=False)
    console.print(f"  {details['description']}", highlight=False)
    lines = [
        ("author", details["author"]),
        ("server", details["server_type"]),
        ("signature", signature_text(details["signature"], details["signer"])),
        ("enabled", "yes" if details["is_enabled"] else "no"),
        ("files", details["install_dir"]),
        ("data dir", details["data_dir"]),
    ]
    for label, value in lines:
        console.print(f"  {label + ':':<11}{value}", highlight=False)
    for policy in details["privacy_policies"]:
        console.print(f"  {'privacy:':<11}{policy}", highlight=False)
    settings: dict[str, Any] = details["settings"]
    if settings or details["missing_settings"]:
        console.print("  settings:")
        for key, value in settings.items():
            console.print(f"    {key} = {value}", highlight=False)
        for key in details["missing_settings"]:
            console.print(f"    {key} = [yellow](required, not set)[/]", highlight=False)
    console.print(f"  declared tools: {', '.join(details['declared_tools']) or '(none)'}", highlight=False)
    if details["listed_tools"]:
        console.print(f"  listed tools:   {', '.join(details['listed_tools'])}", highlight=False)
        _print_differences(ToolComparison(tuple(details["declared_tools"]), tuple(details["listed_tools"])))
    status = details["status"]
    if status is not None:
        detail = f": {status['detail']}" if status["detail"] else ""
        console.print(f"  status:   {status['state'].replace('_', ' ')}{detail}", highlight=False)
        for line in status["stderr_tail"][-10:]:
            console.print(f"    | {line}", highlight=False)


def print_settings(extension: InstalledExtension, values: dict[str, object]) -> None:
    manifest = manifest_of(extension)
    shown = redacted(manifest, values)
    if not manifest.user_config:
        console.print(f"{extension.id} has no settings")
        return
    table = Table("setting", "type", "value", "required", "description")
    for key, option in manifest.user_config.items():
        value = shown.get(key)
        if value is None and option.default is not None:
            value = f"(default) {option.default}"
        table.add_row(
            key,
            option.type.value + (" (several)" if option.multiple else ""),
            "" if value is None else str(value),
            "yes" if option.required else "",
            option.description[:50],
        )
    console.print(table)


def print_validated(path: Path, report: BundleReport) -> None:
    manifest = report.manifest
    if report.signature is not None and report.signature.status is SignatureStatus.INVALID:
        raise InvalidSignature(f"{path.name} has an invalid signature: {report.signature.reason}")
    console.print(
        f"{path.name}: valid bundle of {manifest.title} {manifest.version} "
        f"(manifest_version {manifest.manifest_version}, {manifest.server.type.value} server)",
        highlight=False,
    )
    if report.signature is not None:
        console.print(f"  signature: {_signature_line(report.signature)}", highlight=False)
    for warning in report.warnings:
        console.print(f"  [yellow]warning[/]: {warning}", highlight=False)
