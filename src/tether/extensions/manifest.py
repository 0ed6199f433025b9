"""Read and check manifest.json: ``validate_manifest(raw) -> (Manifest, warnings)``.

Every published manifest_version (0.1 to 0.4) and the deprecated ``dxt_version`` are accepted.
Bundles in the wild carry fields their version does not define, so unknown fields are
warnings; wrong types, missing required fields and unsafe paths are errors naming the field
path. Pure: no file access (see ``bundle`` for that).
"""

from __future__ import annotations

import re
from typing import Any, cast

from tether.errors import InvalidManifest
from tether.extensions.manifest_fields import URL, FieldReader, Obj, join_path
from tether.extensions.manifest_model import (
    MANIFEST_VERSIONS,
    PLATFORMS,
    Author,
    Compatibility,
    Icon,
    Localization,
    Manifest,
    McpConfig,
    McpConfigOverride,
    PromptDecl,
    Repository,
    Server,
    ServerType,
    ToolDecl,
    UserConfigOption,
    UserConfigType,
    UserDefault,
)
from tether.extensions.semver import Range, Version

__all__ = ["MANIFEST_VERSIONS", "Manifest", "is_safe_relative_path", "validate_manifest"]

_TOP_LEVEL = frozenset(
    {
        "$schema", "dxt_version", "manifest_version", "name", "display_name", "version",
        "description", "long_description", "author", "repository", "homepage", "documentation",
        "support", "icon", "screenshots", "server", "tools", "tools_generated", "prompts",
        "prompts_generated", "keywords", "license", "compatibility", "user_config",
        "privacy_policies", "icons", "localization", "_meta",
    }
)  # fmt: skip
_ADDED_IN = {"privacy_policies": "0.2", "icons": "0.3", "localization": "0.3", "_meta": "0.3"}
_SAFE_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$")
_ICON_SIZE = re.compile(r"^\d+x\d+$")
_BCP47 = re.compile(r"^[A-Za-z0-9]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONFIG_KEY = re.compile(r"^[^\s{}$]+$")
_DRIVE = re.compile(r"^[A-Za-z]:")


def validate_manifest(raw: object) -> tuple[Manifest, list[str]]:
    """Check ``raw`` (parsed manifest.json) and build the model; raise InvalidManifest listing
    every problem. Warnings say what was ignored or tolerated."""
    reader = _Reader()
    manifest = reader.manifest(raw)
    if reader.errors or manifest is None:
        raise InvalidManifest(reader.errors)
    return manifest, reader.warnings


def is_safe_relative_path(path: str) -> bool:
    """A path inside the bundle: relative, forward slashes, no ``..``, no drive letter."""
    if not path or "\\" in path or "\0" in path or path.startswith("/") or _DRIVE.match(path):
        return False
    parts = path.split("/")
    return ".." not in parts and any(part not in ("", ".") for part in parts)


class _Reader(FieldReader):
    def __init__(self) -> None:
        super().__init__()
        self.version = MANIFEST_VERSIONS[-1]

    # -- the manifest ------------------------------------------------------------------------

    def manifest(self, raw: object) -> Manifest | None:
        if not isinstance(raw, dict):
            self.error("", "manifest.json must hold a JSON object")
            return None
        top = cast(Obj, raw)
        self.manifest_version(top)
        for key in top:
            if key not in _TOP_LEVEL:
                self.warn(key, "unknown field, ignored")
            elif key in _ADDED_IN and _newer(_ADDED_IN[key], self.version):
                self.warn(
                    key,
                    f"added in manifest_version {_ADDED_IN[key]}, this manifest declares "
                    f"{self.version}; accepted",
                )
        name = self.string(top, "name", "", required=True)
        version = self.version_field(top)
        description = self.string(top, "description", "", required=True)
        author = self.author(top.get("author"))
        server = self.server(top.get("server"))
        # Read every optional field too, so one pass reports every problem.
        optional: dict[str, Any] = {
            "display_name": self.string(top, "display_name", ""),
            "long_description": self.string(top, "long_description", ""),
            "repository": self.repository(top.get("repository")),
            "homepage": self.url(top, "homepage", ""),
            "documentation": self.url(top, "documentation", ""),
            "support": self.url(top, "support", ""),
            "icon": self.icon(top),
            "icons": self.icons(top.get("icons")),
            "screenshots": self.strings(top, "screenshots", ""),
            "tools": self.tools(top.get("tools")),
            "tools_generated": self.boolean(top, "tools_generated", ""),
            "prompts": self.prompts(top.get("prompts")),
            "prompts_generated": self.boolean(top, "prompts_generated", ""),
            "keywords": self.strings(top, "keywords", ""),
            "license": self.string(top, "license", ""),
            "privacy_policies": self.privacy_policies(top),
            "compatibility": self.compatibility(top.get("compatibility")),
            "user_config": self.user_config(top.get("user_config")),
            "localization": self.localization(top.get("localization")),
            "meta": self.meta(top.get("_meta")),
        }
        if name is None or version is None or description is None or author is None or server is None:
            return None
        return Manifest(
            manifest_version=self.version,
            name=name,
            version=version,
            description=description,
            author=author,
            server=server,
            raw=top,
            **optional,
        )

    def manifest_version(self, top: Obj) -> None:
        declared = top.get("manifest_version")
        legacy = top.get("dxt_version")
        if declared is None and legacy is None:
            self.error("manifest_version", 'required (for example "0.3")')
            return
        key, value = ("manifest_version", declared) if declared is not None else ("dxt_version", legacy)
        if key == "dxt_version":
            self.warn("dxt_version", "deprecated: use manifest_version")
        if not isinstance(value, str) or value not in MANIFEST_VERSIONS:
            self.error(
                key,
                f"{value!r} is not a manifest version tether knows ({', '.join(MANIFEST_VERSIONS)})",
            )
            return
        self.version = value
        if declared is not None and legacy is not None and legacy != declared:
            self.warn("dxt_version", f"ignored: manifest_version {declared} wins")

    def version_field(self, top: Obj) -> str | None:
        version = self.string(top, "version", "", required=True)
        if version is None:
            return None
        if not _SAFE_VERSION.match(version) or ".." in version:
            self.error("version", "must be a version like 1.0.0 (letters, digits, '.', '-', '+', '_')")
            return None
        try:
            Version.parse(version)
        except ValueError:
            self.warn("version", f"'{version}' is not a semantic version")
        return version

    def author(self, value: object) -> Author | None:
        if value is None:
            self.error("author", "required (an object with a name)")
            return None
        obj = self.obj(value, "author")
        if obj is None:
            return None
        self.unknown_keys(obj, {"name", "email", "url"}, "author")
        name = self.string(obj, "name", "author", required=True)
        email = self.string(obj, "email", "author")
        if email is not None and not _EMAIL.match(email):
            self.warn("author.email", f"'{email}' is not an email address, ignored")
            email = None
        url = self.url(obj, "url", "author")
        return Author(name, email, url) if name is not None else None

    def repository(self, value: object) -> Repository | None:
        if value is None:
            return None
        obj = self.obj(value, "repository")
        if obj is None:
            return None
        self.unknown_keys(obj, {"type", "url"}, "repository")
        kind = self.string(obj, "type", "repository", required=True)
        url = self.string(obj, "url", "repository", required=True)
        return Repository(kind, url) if kind is not None and url is not None else None

    def bundle_path(self, path: str, value: str) -> str | None:
        """An icon or similar: a file inside the bundle or an https URL."""
        if value.startswith("https://") or ("${" not in value and is_safe_relative_path(value)):
            return value
        self.warn(path, f"'{value}' is neither a path inside the bundle nor an https URL, ignored")
        return None

    def icon(self, top: Obj) -> str | None:
        value = self.string(top, "icon", "")
        return None if value is None else self.bundle_path("icon", value)

    def icons(self, value: object) -> tuple[Icon, ...]:
        if value is None:
            return ()
        icons: list[Icon] = []
        for i, item in enumerate(self.list(value, "icons")):
            path = f"icons[{i}]"
            obj = self.obj(item, path)
            if obj is None:
                continue
            self.unknown_keys(obj, {"src", "size", "theme"}, path)
            src = self.string(obj, "src", path, required=True)
            size = self.string(obj, "size", path, required=True)
            theme = self.string(obj, "theme", path) or None
            if src is None or size is None or self.bundle_path(f"{path}.src", src) is None:
                continue
            if not _ICON_SIZE.match(size):
                self.warn(f"{path}.size", f"'{size}' is not WIDTHxHEIGHT (e.g. 128x128), ignored")
                continue
            icons.append(Icon(src, size, theme))
        return tuple(icons)

    def privacy_policies(self, top: Obj) -> tuple[str, ...]:
        urls = self.strings(top, "privacy_policies", "")
        for url in urls:
            if not URL.match(url):
                self.warn("privacy_policies", f"'{url}' is not a URL")
        return urls

    # -- server ------------------------------------------------------------------------------

    def server(self, value: object) -> Server | None:
        if value is None:
            self.error("server", "required")
            return None
        obj = self.obj(value, "server")
        if obj is None:
            return None
        self.unknown_keys(obj, {"type", "entry_point", "mcp_config"}, "server")
        kind = self.server_type(obj)
        entry_point = self.string(obj, "entry_point", "server", required=True)
        if entry_point is not None and not is_safe_relative_path(entry_point):
            self.error("server.entry_point", "must be a relative path inside the bundle, without '..'")
            entry_point = None
        mcp_config = None
        if obj.get("mcp_config") is not None:
            mcp_config = self.mcp_config(obj["mcp_config"], "server.mcp_config")
        elif kind is not None and kind is not ServerType.UV:
            self.warn("server.mcp_config", f"missing; tether runs the entry point as a {kind} server")
        if kind is None or entry_point is None:
            return None
        return Server(kind, entry_point, mcp_config)

    def server_type(self, obj: Obj) -> ServerType | None:
        raw = obj.get("type")
        if raw is None:
            self.error("server.type", "required")
            return None
        try:
            kind = ServerType(raw)
        except ValueError:
            self.error("server.type", "must be one of " + ", ".join(t.value for t in ServerType))
            return None
        if kind is ServerType.UV and _newer("0.4", self.version):
            self.warn(
                "server.type", f'"uv" needs manifest_version 0.4, this manifest declares {self.version}'
            )
        return kind

    def mcp_config(self, value: object, path: str) -> McpConfig | None:
        obj = self.obj(value, path)
        if obj is None:
            return None
        self.unknown_keys(obj, {"command", "args", "env", "platform_overrides"}, path)
        command = self.string(obj, "command", path, required=True)
        args = self.strings(obj, "args", path)
        env = self.env(obj.get("env"), f"{path}.env") or {}
        overrides: dict[str, McpConfigOverride] = {}
        raw_overrides = obj.get("platform_overrides")
        if raw_overrides is not None:
            table = self.obj(raw_overrides, f"{path}.platform_overrides") or {}
            for platform, raw in table.items():
                override = self.override(raw, f"{path}.platform_overrides.{platform}")
                if platform not in PLATFORMS:
                    self.warn(
                        f"{path}.platform_overrides.{platform}",
                        f"not a platform ({', '.join(PLATFORMS)}); never applied",
                    )
                if override is not None:
                    overrides[platform] = override
        return McpConfig(command, args, env, overrides) if command is not None else None

    def override(self, value: object, path: str) -> McpConfigOverride | None:
        obj = self.obj(value, path)
        if obj is None:
            return None
        self.unknown_keys(obj, {"command", "args", "env"}, path)
        command = self.string(obj, "command", path)
        args = self.strings(obj, "args", path) if obj.get("args") is not None else None
        env = self.env(obj.get("env"), f"{path}.env")
        return McpConfigOverride(command, args, env)

    def env(self, value: object, path: str) -> dict[str, str] | None:
        if value is None:
            return None
        obj = self.obj(value, path)
        if obj is None:
            return None
        env: dict[str, str] = {}
        for key, item in obj.items():
            if isinstance(item, str):
                env[key] = item
            else:
                self.error(f"{path}.{key}", "must be a string")
        return env

    # -- tools and prompts -------------------------------------------------------------------

    def tools(self, value: object) -> tuple[ToolDecl, ...]:
        if value is None:
            return ()
        tools: list[ToolDecl] = []
        for i, item in enumerate(self.list(value, "tools")):
            path = f"tools[{i}]"
            obj = self.obj(item, path)
            if obj is None:
                continue
            self.unknown_keys(obj, {"name", "description"}, path)
            name = self.string(obj, "name", path, required=True)
            description = self.string(obj, "description", path) or ""
            if name is not None:
                tools.append(ToolDecl(name, description))
        return tuple(tools)

    def prompts(self, value: object) -> tuple[PromptDecl, ...]:
        if value is None:
            return ()
        prompts: list[PromptDecl] = []
        for i, item in enumerate(self.list(value, "prompts")):
            path = f"prompts[{i}]"
            obj = self.obj(item, path)
            if obj is None:
                continue
            self.unknown_keys(obj, {"name", "description", "arguments", "text"}, path)
            name = self.string(obj, "name", path, required=True)
            text = self.string(obj, "text", path, required=True)
            description = self.string(obj, "description", path) or ""
            arguments = self.strings(obj, "arguments", path)
            if name is not None and text is not None:
                prompts.append(PromptDecl(name, text, description, arguments))
        return tuple(prompts)

    # -- compatibility -----------------------------------------------------------------------

    def compatibility(self, value: object) -> Compatibility:
        if value is None:
            return Compatibility()
        obj = self.obj(value, "compatibility")
        if obj is None:
            return Compatibility()
        platforms: tuple[str, ...] | None = None
        if obj.get("platforms") is not None:
            listed = self.strings(obj, "platforms", "compatibility")
            for platform in listed:
                if platform not in PLATFORMS:
                    self.warn(
                        "compatibility.platforms",
                        f"'{platform}' is not a platform ({', '.join(PLATFORMS)}), ignored",
                    )
            platforms = tuple(p for p in listed if p in PLATFORMS)
        runtimes: dict[str, str] = {}
        if obj.get("runtimes") is not None:
            table = self.obj(obj["runtimes"], "compatibility.runtimes") or {}
            self.unknown_keys(table, {"python", "node"}, "compatibility.runtimes")
            for runtime in ("python", "node"):
                spec = self.range(table, runtime, "compatibility.runtimes")
                if spec is not None:
                    runtimes[runtime] = spec
        clients: dict[str, str] = {}
        for key, raw in obj.items():
            if key in ("platforms", "runtimes"):
                continue
            if not isinstance(raw, str):
                self.warn(f"compatibility.{key}", "unknown field, ignored")
                continue
            spec = self.range(obj, key, "compatibility")
            if spec is not None:
                clients[key] = spec
        return Compatibility(platforms, runtimes, clients)

    def range(self, obj: Obj, key: str, path: str) -> str | None:
        spec = self.string(obj, key, path)
        if spec is None:
            return None
        try:
            Range.parse(spec)
        except ValueError:
            self.warn(join_path(path, key), f"'{spec}' is not a version range, ignored")
            return None
        return spec

    # -- user_config -------------------------------------------------------------------------

    def user_config(self, value: object) -> dict[str, UserConfigOption]:
        if value is None:
            return {}
        table = self.obj(value, "user_config") or {}
        options: dict[str, UserConfigOption] = {}
        for key, raw in table.items():
            path = f"user_config.{key}"
            if not _CONFIG_KEY.match(key):
                self.error(path, "a setting's key cannot be empty or hold spaces, '{', '}' or '$'")
                continue
            option = self.user_option(key, raw, path)
            if option is not None:
                options[key] = option
        return options

    def user_option(self, key: str, value: object, path: str) -> UserConfigOption | None:
        obj = self.obj(value, path)
        if obj is None:
            return None
        known = {"type", "title", "description", "required", "default", "multiple", "sensitive", "min", "max"}
        self.unknown_keys(obj, known, path)
        kind: UserConfigType | None = None
        try:
            kind = UserConfigType(obj.get("type"))
        except ValueError:
            self.error(f"{path}.type", "must be one of " + ", ".join(t.value for t in UserConfigType))
        title = self.string(obj, "title", path)
        if title is None and "title" not in obj:
            self.warn(f"{path}.title", "missing; the key is shown instead")
        description = self.string(obj, "description", path) or ""
        multiple = self.boolean(obj, "multiple", path)
        low, high = self.number(obj, "min", path), self.number(obj, "max", path)
        if low is not None and high is not None and low > high:
            self.error(path, f"min ({low}) is greater than max ({high})")
        if kind is None:
            return None
        if multiple and kind not in (UserConfigType.DIRECTORY, UserConfigType.FILE):
            self.warn(f"{path}.multiple", "meant for directory and file settings; values become a list")
        return UserConfigOption(
            key=key,
            type=kind,
            title=title or key,
            description=description,
            required=self.boolean(obj, "required", path),
            default=self.default(obj.get("default"), kind, multiple, f"{path}.default"),
            multiple=multiple,
            sensitive=self.boolean(obj, "sensitive", path),
            min=low,
            max=high,
        )

    def default(self, value: object, kind: UserConfigType, multiple: bool, path: str) -> UserDefault | None:
        if value is None:
            return None
        if isinstance(value, list):
            items = cast(list[object], value)
            if all(isinstance(item, str) for item in items):
                if not multiple:
                    self.warn(path, "a list for a setting that takes one value")
                return tuple(cast(list[str], items))
            self.error(path, "a list default must hold strings")
            return None
        if kind is UserConfigType.BOOLEAN:
            if isinstance(value, bool):
                return value
            self.error(path, "must be true or false")
            return None
        if kind is UserConfigType.NUMBER:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            self.error(path, "must be a number")
            return None
        if isinstance(value, str):
            return value
        self.error(path, "must be a string")
        return None

    # -- localization and _meta --------------------------------------------------------------

    def localization(self, value: object) -> Localization | None:
        if value is None:
            return None
        obj = self.obj(value, "localization")
        if obj is None:
            return None
        self.unknown_keys(obj, {"resources", "default_locale"}, "localization")
        result = Localization()
        resources = self.string(obj, "resources", "localization")
        if resources is not None:
            if "${locale}" in resources.lower() and is_safe_relative_path(resources.replace("${", "x{")):
                result = Localization(resources, result.default_locale)
            else:
                self.warn(
                    "localization.resources",
                    "must be a path inside the bundle holding a ${locale} placeholder; default used",
                )
        locale = self.string(obj, "default_locale", "localization")
        if locale is not None:
            if _BCP47.match(locale):
                result = Localization(result.resources, locale)
            else:
                self.warn("localization.default_locale", f"'{locale}' is not a BCP 47 locale; en-US used")
        return result

    def meta(self, value: object) -> dict[str, Any]:
        if value is None:
            return {}
        obj = self.obj(value, "_meta")
        return dict(obj) if obj is not None else {}


def _newer(a: str, b: str) -> bool:
    """Whether manifest version ``a`` comes after ``b``."""
    return tuple(map(int, a.split("."))) > tuple(map(int, b.split(".")))
