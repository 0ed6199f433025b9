"""The SSRF guard: where the OAuth client may send a request on a server's say-so.

Discovery documents name other URLs (authorization servers, token endpoints). A public
connector must not be able to point tether at the user's own machine or network, so such
a URL is refused unless the connector itself lives there (local development) or the user
allowed private addresses. Plain ``http`` is only accepted on loopback.
"""

from __future__ import annotations

import enum
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import anyio

from tether.errors import UnsafeUrl

Resolver = Callable[[str], Awaitable[Sequence[str]]]
"""Host name -> the IP addresses it resolves to."""


class Network(enum.IntEnum):
    """How internal an address is; a higher value is more internal."""

    PUBLIC = 0
    PRIVATE = 1
    LOOPBACK = 2


async def resolve_host(host: str) -> Sequence[str]:
    try:
        infos = await anyio.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return ()
    return [str(info[4][0]) for info in infos]


def classify_address(address: str) -> Network:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return Network.LOOPBACK
    if ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
        return Network.PRIVATE
    return Network.PUBLIC


class NetworkGuard:
    """Checks the URLs an OAuth flow is about to visit for the connector at ``connector_url``."""

    def __init__(
        self, connector_url: str, *, allow_private: bool = False, resolve: Resolver = resolve_host
    ) -> None:
        self.connector_url = connector_url
        self.allow_private = allow_private
        self._resolve = resolve
        self._connector_network: Network | None = None

    async def network_of(self, host: str) -> Network:
        host = host.strip("[]")
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            return Network.LOOPBACK
        try:
            return classify_address(host)
        except ValueError:
            pass
        addresses = await self._resolve(host)
        return max((classify_address(a) for a in addresses), default=Network.PUBLIC)

    async def check(self, url: str) -> None:
        """Raise UnsafeUrl when ``url`` may not be visited for this connector."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host:
            raise UnsafeUrl(f"refusing '{_shown(url)}': OAuth URLs must be http(s) URLs")
        target = await self.network_of(host)
        if parts.scheme == "http" and target is not Network.LOOPBACK:
            raise UnsafeUrl(
                f"refusing '{_shown(url)}': OAuth endpoints must use https (http only on loopback)"
            )
        if target is Network.PUBLIC or self.allow_private:
            return
        if self._connector_network is None:
            self._connector_network = await self.network_of(urlsplit(self.connector_url).hostname or "")
        if target is not self._connector_network:
            where = "this computer" if target is Network.LOOPBACK else "a private network"
            raise UnsafeUrl(
                f"refusing '{_shown(url)}': the connector's server points tether at {where}, which a "
                "remote server may not do (set oauth_private_urls = 'allow' for local development)"
            )


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
