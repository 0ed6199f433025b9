"""What the web UI needs from tether, as Protocols: ``tether.app.App`` satisfies ``Backend``.

The web layer sits below ``app.py`` and may not import it; ``tether serve`` hands the App in.
Tests may hand in anything with the same shape. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from tether.core.host import Host
from tether.core.storage import ExtensionStore, SecretStore, Store
from tether.types import Actor, SourceConfig, ToolDef

if TYPE_CHECKING:
    from tether.chat.assistant import Assistant
    from tether.connectors.directory import Directory, DirectoryEntry
    from tether.connectors.editing import ConnectorChange, ConnectorEdited
    from tether.connectors.netguard import NetworkGuard
    from tether.connectors.vault import ConnectorVault
    from tether.extensions.installer import Installer


class WebStore(Store, ExtensionStore, Protocol):
    """The storage the pages read: sources, tools, policies, approvals, activity, extensions."""

    async def all_known_tools(self) -> Mapping[str, Sequence[ToolDef]]:
        """Every stored catalog by source, in one read."""
        ...


class Backend(Protocol):
    """The running tether: its host (sources, tools, policy, events), its store and secrets."""

    @property
    def host(self) -> Host: ...

    @property
    def store(self) -> WebStore: ...

    @property
    def secrets(self) -> SecretStore: ...

    async def add_source(self, actor: Actor, config: SourceConfig) -> None: ...

    async def remove_source(self, actor: Actor, name: str) -> None: ...

    async def set_enabled(self, actor: Actor, name: str, *, is_enabled: bool) -> None: ...

    async def start_sources(self, names: Sequence[str] | None = None) -> None: ...

    async def edit_connector(self, actor: Actor, name: str, change: ConnectorChange) -> ConnectorEdited:
        """Check and save a connector's new settings; a running one is stopped, to be started again."""
        ...

    def connector_vault(self, config: SourceConfig) -> ConnectorVault: ...

    def network_guard(self, config: SourceConfig) -> NetworkGuard: ...

    @property
    def client_metadata_url(self) -> str | None:
        """tether's Client ID Metadata Document URL for sign-ins, or None (then DCR)."""
        ...

    def directory(self) -> Directory:
        """The catalog of installable extensions and connectors (curated + MCP Registry)."""
        ...

    async def remember_directory_origin(self, extension_id: str, entry: DirectoryEntry) -> None:
        """Record that the extension was installed from ``entry`` (for updates from the directory)."""
        ...

    def extensions(self) -> Installer:
        """Install, update, configure and remove extensions (they start in this host)."""
        ...

    def assistant(self) -> Assistant:
        """The chat assistant over this host (the caller closes it)."""
        ...
