"""Settings > Extensions: installed extensions as cards, install by upload with a preview first,
the settings form, update, remove, enable, logs, and each extension's tools.

Everything goes through ``Backend.extensions()`` (the installer), which judges a bundle
before writing anything and leaves nothing behind when it refuses. A settings save names
the version it edits; a newer save in between is a conflict, shown with nothing lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tether.connectors.directory import DirectoryEntry
from tether.core.storage import InstalledExtension
from tether.errors import InvalidUserConfig, TetherError
from tether.extensions.bundle import Bundle, BundleLimits
from tether.extensions.installed import manifest_of
from tether.extensions.installer import Installer, InstallReport
from tether.extensions.settings import missing_required
from tether.extensions.signature import SignatureResult
from tether.types import SourceState
from tether.web.catalog import Known, ToolLine
from tether.web.context import Web, actor, read_form, text, web_of
from tether.web.extension_form import (
    VERSION_FIELD,
    SettingsForm,
    build_form,
    every_problem,
    field_errors,
    read_answers,
    typed_texts,
)
from tether.web.extension_views import PNG_MAGIC, preview_of, signature_words
from tether.web.pages.connectors import START_WAIT_S

BUNDLE_FIELD = "bundle"
URL_FIELD = "url"
ICON_PX = 64
STATES = {
    SourceState.RUNNING: ("running", "ok"),
    SourceState.NEEDS_SETTINGS: ("needs settings", "warn"),
    SourceState.FAILED: ("error", "bad"),
    SourceState.RESTARTING: ("restarting", "bad"),
    SourceState.STARTING: ("starting", "busy"),
    SourceState.STOPPED: ("stopped", "off"),
    SourceState.DISABLED: ("disabled", "off"),
}


@dataclass(frozen=True, slots=True)
class ExtensionCard:
    id: str
    title: str
    version: str
    author: str
    description: str
    signature: str
    signature_tone: str
    state: str
    tone: str
    detail: str
    is_enabled: bool
    has_icon: bool
    tools: tuple[ToolLine, ...]
    logs: tuple[str, ...]
    form: SettingsForm
    is_open: bool = False
    notice: str = ""
    notice_tone: str = "ok"


async def extensions_page(request: Request) -> Response:
    web = web_of(request)
    opened = request.query_params.get("open", "")
    known = await Known.read(web)
    installer = web.backend.extensions()
    cards = [
        await card(web, extension, is_open=extension.id == opened, known=known, installer=installer)
        for extension in await web.backend.store.list_extensions()
    ]
    opened_card = next((c for c in cards if c.id == opened), None)
    is_new = request.query_params.get("installed") == "1" and opened_card is not None
    notice = f"Installed {opened_card.title} {opened_card.version}." if is_new and opened_card else ""
    return await web.render(request, "extensions.html", {"cards": cards, "notice": notice})


async def preview(request: Request) -> Response:
    web = web_of(request)
    form = await read_form(request, max_files=1)
    try:
        upload = form.get(BUNDLE_FIELD)
        if not isinstance(upload, UploadFile):
            return _problem(web, "Choose an .mcpb or .dxt file to install.")
        upload_id = ""
        try:
            upload_id, path = await web.uploads.save(upload, max_bytes=BundleLimits().max_file_bytes)
            bundle, signature = await web.backend.extensions().open_checked(path)
        except TetherError as error:
            if upload_id:
                web.uploads.discard(upload_id)
            return _problem(web, str(error), code=error.code)
    finally:
        await form.close()
    return await _preview(web, upload_id, bundle, signature)


async def preview_url(request: Request) -> Response:
    """Download the bundle at the URL typed next to the upload, then show the same preview."""
    web = web_of(request)
    url = text(await read_form(request), URL_FIELD)
    if not url:
        return _problem(web, "Type the https:// address of an .mcpb file.", code="download_failed")
    return await preview_download(web, url)


async def preview_download(web: Web, url: str, *, entry: DirectoryEntry | None = None) -> Response:
    """The preview of the bundle at ``url``, or why there is none. From a directory ``entry``, the
    download must have the entry's sha256, and the installed extension remembers the entry."""
    upload_id = ""
    sha256 = entry.bundle_sha256 if entry is not None else None
    try:
        upload_id, path = await web.uploads.download(
            url, max_bytes=BundleLimits().max_file_bytes, sha256=sha256
        )
        bundle, signature = await web.backend.extensions().open_checked(path)
    except TetherError as error:
        if upload_id:
            web.uploads.discard(upload_id)
        return _problem(web, str(error), code=error.code)
    if entry is not None:
        _directory_uploads(web)[upload_id] = entry
    return await _preview(web, upload_id, bundle, signature)


async def _preview(web: Web, upload_id: str, bundle: Bundle, signature: SignatureResult) -> Response:
    installed = {e.id for e in await web.backend.store.list_extensions()}
    view = preview_of(upload_id, bundle, signature, is_installed=bundle.manifest.slug in installed)
    return web.fragment("_ext_preview.html", {"preview": view})


async def install(request: Request) -> Response:
    web = web_of(request)
    uploads = web.uploads
    upload_id = text(await read_form(request), "upload_id")
    path = uploads.path(upload_id)
    if path is None:
        return _problem(web, "This upload is gone (installed or cancelled already): choose the file again.")
    entry = _directory_uploads(web).pop(upload_id, None)
    try:
        report = await web.backend.extensions().install_bundle(actor(request), path, start=True)
    except TetherError as error:
        return _problem(web, str(error), code=error.code)
    finally:
        uploads.discard(upload_id)
    if entry is not None:
        await web.backend.remember_directory_origin(report.extension.id, entry)
    query = urlencode({"open": report.extension.id, "installed": "1"})
    return HTMLResponse("", headers={"HX-Redirect": f"/extensions?{query}"})


async def cancel(request: Request) -> Response:
    web = web_of(request)
    upload_id = text(await read_form(request), "upload_id")
    web.uploads.discard(upload_id)
    _directory_uploads(web).pop(upload_id, None)
    return HTMLResponse("")


async def save_settings(request: Request) -> Response:
    web = web_of(request)
    extension_id = request.path_params["id"]
    installer = web.backend.extensions()
    form = await read_form(request)
    lock = web.state.setdefault("settings_locks", {}).setdefault(extension_id, anyio.Lock())
    async with lock:
        extension = await web.backend.store.get_extension(extension_id)
        manifest = manifest_of(extension)
        values = installer.values(extension)
        if text(form, VERSION_FIELD) != version_of(extension):
            conflict = build_form(
                extension_id, manifest, values, version_of(extension), typed=typed_texts(manifest, form)
            )
            conflict.is_conflict = True
            conflict.notice = (
                "These settings were saved elsewhere (another tab or process) after you opened them. "
                "Nothing of yours was saved: your edits are below, with the value saved meanwhile under "
                "each field that differs. Check them and press Save again."
            )
            conflict.notice_tone = "bad"
            return await _card(web, extension, form=conflict, status_code=409)
        texts, unset = read_answers(manifest, form, values)
        problems = every_problem(
            manifest,
            values,
            texts,
            unset,
            bundle_dir=extension.install_dir,
            dirs=installer.user_dirs,
            platform=installer.platform,
        )
        try:
            if problems:
                raise InvalidUserConfig(problems)
            report = await installer.configure(actor(request), extension_id, texts, unset=unset, start=True)
        except InvalidUserConfig as error:
            shown = build_form(
                extension_id,
                manifest,
                values,
                version_of(extension),
                typed=typed_texts(manifest, form),
                problems=error.problems,
            )
            shown.notice = field_errors(error.problems).get(
                "", "Fix the fields marked below; nothing was saved."
            )
            shown.notice_tone = "bad"
            return await _card(web, extension, form=shown, status_code=422)
    return await _card(web, report.extension, notice=_report_notice(report))


async def update(request: Request) -> Response:
    web = web_of(request)
    extension_id = request.path_params["id"]
    extension = await web.backend.store.get_extension(extension_id)
    form = await read_form(request, max_files=1)
    upload_id = ""
    try:
        upload = form.get(BUNDLE_FIELD)
        if not isinstance(upload, UploadFile):
            return await _card(web, extension, "Choose the new version's .mcpb file.", "bad")
        upload_id, path = await web.uploads.save(upload, max_bytes=BundleLimits().max_file_bytes)
        report = await web.backend.extensions().update_bundle(actor(request), path, extension_id=extension_id)
    except TetherError as error:
        return await _card(web, await web.backend.store.get_extension(extension_id), str(error), "bad")
    finally:
        await form.close()
        if upload_id:
            web.uploads.discard(upload_id)
    return await _card(web, report.extension, _report_notice(report), "ok")


async def remove(request: Request) -> Response:
    web = web_of(request)
    removed = await web.backend.extensions().remove_extension(actor(request), request.path_params["id"])
    return web.fragment("_notice.html", {"message": f"Removed {removed.id} {removed.version}.", "tone": "ok"})


async def set_enabled(request: Request) -> Response:
    web = web_of(request)
    extension_id = request.path_params["id"]
    is_enabled = text(await read_form(request), "is_enabled") == "on"
    await web.backend.set_enabled(actor(request), extension_id, is_enabled=is_enabled)
    host = web.backend.host
    if not is_enabled and extension_id in host.statuses():
        await host.remove_source(extension_id)
    elif is_enabled:
        with anyio.move_on_after(START_WAIT_S):
            await web.backend.start_sources([extension_id])
    return await _card(web, await web.backend.store.get_extension(extension_id), "", "ok")


async def icon(request: Request) -> Response:
    """The extension's PNG icon from its unpacked bundle (PNG only: an SVG could carry script)."""
    web = web_of(request)
    extension = await web.backend.store.get_extension(request.path_params["id"])
    data = await anyio.to_thread.run_sync(_read_icon, extension)
    if data is None:
        return Response(status_code=404)
    return Response(
        data,
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=300", "Content-Security-Policy": "default-src 'none'"},
    )


async def card(
    web: Web,
    extension: InstalledExtension,
    *,
    is_open: bool = False,
    notice: str = "",
    notice_tone: str = "ok",
    form: SettingsForm | None = None,
    known: Known | None = None,
    installer: Installer | None = None,
) -> ExtensionCard:
    known = known or await Known.read(web)
    manifest = manifest_of(extension)
    values = (installer or web.backend.extensions()).values(extension)
    config = known.configs.get(extension.id) or await web.backend.store.get_source(extension.id)
    status = web.backend.host.statuses().get(extension.id)
    if not config.is_enabled:
        state, tone, detail = "disabled", "off", ""
    elif status is not None:
        state, tone = STATES.get(status.state, (status.state.value.replace("_", " "), "off"))
        detail = status.detail if status.state is not SourceState.RUNNING else ""
        if status.state is SourceState.NEEDS_SETTINGS:
            detail = "Fill in the settings marked * below; it starts once they are saved."
    elif missing_required(manifest, values):
        state, tone, detail = "needs settings", "warn", ""
    else:
        state, tone, detail = "not running", "off", ""
    tools = await known.tool_lines(web, extension.id)
    words, signature_tone = signature_words(extension.signature, extension.signer)
    return ExtensionCard(
        id=extension.id,
        title=manifest.title,
        version=extension.version,
        author=manifest.author.name,
        description=manifest.description,
        signature=words,
        signature_tone=signature_tone,
        state=state,
        tone=tone,
        detail=detail,
        is_enabled=config.is_enabled,
        has_icon=bool(manifest.icon or manifest.icons),
        tools=tools,
        logs=status.stderr_tail if status is not None else (),
        form=form or build_form(extension.id, manifest, values, version_of(extension)),
        is_open=is_open or bool(notice) or form is not None,
        notice=notice,
        notice_tone=notice_tone,
    )


def version_of(extension: InstalledExtension) -> str:
    """What a settings form edits: changes whenever the extension is saved, updated or configured."""
    return extension.updated_at.isoformat()


def _report_notice(report: InstallReport) -> str:
    name = report.extension.id
    if report.missing:
        return f"{name} needs settings before it can start: " + ", ".join(o.title for o in report.missing)
    started = report.started
    if started is None:
        return f"{name} saved"
    if started.status.state is SourceState.RUNNING:
        return f"{name} is running with {len(started.tools)} tools; each asks before it runs"
    return f"{name} did not start: {started.status.detail or started.status.state.value}"


async def _card(
    web: Web,
    extension: InstalledExtension,
    notice: str = "",
    tone: str = "ok",
    *,
    form: SettingsForm | None = None,
    status_code: int = 200,
) -> Response:
    view = await card(web, extension, notice=notice, notice_tone=tone, form=form)
    return web.fragment("_ext_card.html", {"card": view}, status_code=status_code)


def _problem(web: Web, message: str, *, code: str = "invalid_bundle") -> Response:
    return web.fragment("_ext_problem.html", {"message": message, "code": code}, status_code=422)


def _directory_uploads(web: Web) -> dict[str, DirectoryEntry]:
    """Downloads from the directory waiting for Install: upload id -> the entry they came from."""
    return web.state.setdefault("directory_uploads", {})


def _read_icon(extension: InstalledExtension) -> bytes | None:
    manifest = manifest_of(extension)
    by_size = sorted(manifest.icons, key=lambda i: abs(i.width_px - ICON_PX))
    names = [i.src for i in by_size] + ([manifest.icon] if manifest.icon else [])
    root = Path(extension.install_dir).resolve()
    for name in names:
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file() or path.stat().st_size > 5 * 1024 * 1024:
            continue
        data = path.read_bytes()
        if data.startswith(PNG_MAGIC):
            return data
    return None
