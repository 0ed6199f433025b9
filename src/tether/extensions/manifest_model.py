"""The typed model of an MCPB manifest.json (manifest_version 0.1 to 0.4, and dxt_version).

Frozen dataclasses only; ``manifest.validate_manifest`` builds them from raw JSON. Nothing
here reads files or knows about zips.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tether.types import JSON, JSONObject

MANIFEST_VERSIONS = ("0.1", "0.2", "0.3", "0.4")
PLATFORMS = ("darwin", "win32", "linux")


class ServerType(enum.StrEnum):
    NODE = "node"
    PYTHON = "python"
    BINARY = "binary"
    UV = "uv"


class UserConfigType(enum.StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DIRECTORY = "directory"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Repository:
    type: str
    url: str


@dataclass(frozen=True, slots=True)
class Icon:
    src: str
    size: str
    theme: str | None = None

    @property
    def width_px(self) -> int:
        return int(self.size.split("x", 1)[0])


@dataclass(frozen=True, slots=True)
class McpConfigOverride:
    """A platform's replacement for some of command, args, env; None means "keep the base"."""

    command: str | None = None
    args: tuple[str, ...] | None = None
    env: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class McpConfig:
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict[str, str])
    platform_overrides: Mapping[str, McpConfigOverride] = field(default_factory=dict[str, McpConfigOverride])

    def for_platform(self, platform: str) -> McpConfig:
        """Apply the override for ``platform``: each of command, args, env is replaced whole."""
        override = self.platform_overrides.get(platform)
        if override is None:
            return McpConfig(self.command, self.args, self.env)
        return McpConfig(
            command=override.command or self.command,
            args=self.args if override.args is None else override.args,
            env=self.env if override.env is None else override.env,
        )


@dataclass(frozen=True, slots=True)
class Server:
    type: ServerType
    entry_point: str
    mcp_config: McpConfig | None = None


@dataclass(frozen=True, slots=True)
class ToolDecl:
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class PromptDecl:
    name: str
    text: str
    description: str = ""
    arguments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Compatibility:
    """``runtimes`` maps ``python``/``node`` to npm-style ranges; ``clients`` maps a client to one."""

    platforms: tuple[str, ...] | None = None
    runtimes: Mapping[str, str] = field(default_factory=dict[str, str])
    clients: Mapping[str, str] = field(default_factory=dict[str, str])

    @property
    def claude_desktop(self) -> str | None:
        return self.clients.get("claude_desktop")


UserDefault = str | float | bool | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UserConfigOption:
    key: str
    type: UserConfigType
    title: str
    description: str = ""
    required: bool = False
    default: UserDefault | None = None
    multiple: bool = False
    sensitive: bool = False
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class Localization:
    resources: str = "mcpb-resources/${locale}.json"
    default_locale: str = "en-US"


_SLUG_INVALID = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated manifest. ``raw`` keeps the JSON as read, for storing and showing."""

    manifest_version: str
    name: str
    version: str
    description: str
    author: Author
    server: Server
    display_name: str | None = None
    long_description: str | None = None
    repository: Repository | None = None
    homepage: str | None = None
    documentation: str | None = None
    support: str | None = None
    icon: str | None = None
    icons: tuple[Icon, ...] = ()
    screenshots: tuple[str, ...] = ()
    tools: tuple[ToolDecl, ...] = ()
    tools_generated: bool = False
    prompts: tuple[PromptDecl, ...] = ()
    prompts_generated: bool = False
    keywords: tuple[str, ...] = ()
    license: str | None = None
    privacy_policies: tuple[str, ...] = ()
    compatibility: Compatibility = Compatibility()
    user_config: Mapping[str, UserConfigOption] = field(default_factory=dict[str, UserConfigOption])
    localization: Localization | None = None
    meta: Mapping[str, JSON] = field(default_factory=dict[str, JSON])
    raw: JSONObject = field(default_factory=dict[str, JSON], compare=False, repr=False)

    @property
    def title(self) -> str:
        """What people see: the display name, else the name."""
        return self.display_name or self.name

    @property
    def slug(self) -> str:
        """A name safe for a directory and for a tether source: lowercase, digits, single '-'."""
        slug = _SLUG_INVALID.sub("-", self.name.lower()).strip("-")
        slug = re.sub(r"-{2,}", "-", slug)[:48].strip("-")
        return slug or "extension"
