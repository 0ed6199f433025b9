"""What the Extensions page shows of a bundle before it is installed: the preview.

Who made and signed it, the tools it declares, the settings it will ask for and what it
can reach once running. Built from the opened (checked, not unpacked) bundle only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from tether.extensions.bundle import Bundle
from tether.extensions.manifest_model import UserConfigType
from tether.extensions.signature import SignatureResult
from tether.sandbox.launch import describe_isolation

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SIGNATURES = {
    "signed": ("signed", "ok"),
    "self_signed": ("self-signed, not trusted", "warn"),
    "untrusted": ("signed, but not by anyone tether trusts", "warn"),
    "unsigned": ("unsigned", "warn"),
}


@dataclass(frozen=True, slots=True)
class SettingLine:
    title: str
    kind: str
    is_required: bool
    is_sensitive: bool


@dataclass(frozen=True, slots=True)
class Preview:
    upload_id: str
    id: str
    title: str
    version: str
    description: str
    author: str
    signature: str
    signature_tone: str
    runtime: str
    tools: tuple[tuple[str, str], ...]
    tools_generated: bool
    settings: tuple[SettingLine, ...]
    access: tuple[str, ...]
    warnings: tuple[str, ...]
    icon: str
    """A data: URI of the bundle's PNG icon, or ""."""
    size_kib: int
    is_installed: bool


def signature_words(status: str, signer: str | None) -> tuple[str, str]:
    """("signed by ACME", "ok") and friends: the badge text and its tone."""
    words, tone = _SIGNATURES.get(status, (status, "warn"))
    return (f"{words} by {signer}" if signer and status != "unsigned" else words), tone


def preview_of(upload_id: str, bundle: Bundle, signature: SignatureResult, *, is_installed: bool) -> Preview:
    manifest = bundle.manifest
    words, tone = signature_words(signature.status.value, signature.publisher or signature.subject)
    settings = tuple(
        SettingLine(o.title, o.type.value, o.required, o.sensitive) for o in manifest.user_config.values()
    )
    access = ["its own files, and a private data folder it may write to"]
    chosen = [
        o.title
        for o in manifest.user_config.values()
        if o.type in (UserConfigType.DIRECTORY, UserConfigType.FILE)
    ]
    if chosen:
        access.append("the folders and files you choose in its settings: " + ", ".join(chosen))
    secrets = [o.title for o in manifest.user_config.values() if o.sensitive]
    if secrets:
        access.append("the secrets you enter (kept in the secret store): " + ", ".join(secrets))
    access.append(f"isolation on this computer: {describe_isolation()}")
    return Preview(
        upload_id=upload_id,
        id=manifest.slug,
        title=manifest.title,
        version=manifest.version,
        description=manifest.long_description or manifest.description,
        author=manifest.author.name,
        signature=words,
        signature_tone=tone,
        runtime=manifest.server.type.value,
        tools=tuple((t.name, t.description) for t in manifest.tools),
        tools_generated=manifest.tools_generated,
        settings=settings,
        access=tuple(access),
        warnings=bundle.warnings,
        icon=_icon_uri(bundle),
        size_kib=max(1, len(bundle.data) // 1024),
        is_installed=is_installed,
    )


def _icon_uri(bundle: Bundle) -> str:
    try:
        data = bundle.read_icon(size_px=64)
    except Exception:  # a broken icon must not stop the preview
        return ""
    if data is None or not data.startswith(PNG_MAGIC):
        return ""
    return "data:image/png;base64," + base64.b64encode(data).decode()
