"""A stand-in for the MCP Registry, served by real uvicorn on 127.0.0.1.

It answers ``GET /v0.1/servers`` (``search``, ``cursor``, ``limit``, ``version=latest``) and
``GET /v0.1/servers/{name}/versions/latest`` in the registry's shape, serves ``.mcpb`` files
under ``/bundles/``, records every request, and can be told to fail (500, garbage).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from tests.connectors.servers import serve_app

Json = dict[str, Any]
Mode = Literal["ok", "error", "not-json", "no-servers"]
OFFICIAL = "io.modelcontextprotocol.registry/official"


@dataclass
class Registry:
    base_url: str = ""
    records: list[Json] = field(default_factory=list[Json])
    bundles: dict[str, bytes] = field(default_factory=dict[str, bytes])
    requests: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    """(method, path with query) of every request."""
    mode: Mode = "ok"
    page_size_max: int = 30

    def publish(self, record: Json) -> None:
        """Add a server version; it becomes the latest of its name."""
        name = record["server"]["name"]
        for old in self.records:
            if old["server"]["name"] == name:
                old["_meta"][OFFICIAL]["isLatest"] = False
        self.records.append(record)

    def host_bundle(self, file_name: str, data: bytes) -> tuple[str, str]:
        """Serve ``data`` at /bundles/FILE; return its URL and sha256."""
        self.bundles[file_name] = data
        return f"{self.base_url}/bundles/{file_name}", hashlib.sha256(data).hexdigest()

    @property
    def server_requests(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[1].startswith("/v0.1/servers")]

    def app(self) -> ASGIApp:
        async def check(request: Request) -> Response | None:
            query = f"?{request.url.query}" if request.url.query else ""
            self.requests.append((request.method, request.url.path + query))
            if request.method != "GET":
                return JSONResponse({"error": "read-only"}, status_code=405)
            if self.mode == "error":
                return JSONResponse({"error": "database is down"}, status_code=500)
            if self.mode == "not-json":
                return Response("<html>maintenance</html>", media_type="text/html")
            if self.mode == "no-servers":
                return JSONResponse({"items": []})
            return None

        async def servers(request: Request) -> Response:
            if (failed := await check(request)) is not None:
                return failed
            params = request.query_params
            found = [r for r in self.records if r["_meta"][OFFICIAL]["isLatest"]]
            if params.get("version") != "latest":
                found = list(self.records)
            if text := params.get("search", "").lower():
                found = [
                    r
                    for r in found
                    if text in r["server"]["name"].lower() or text in r["server"]["description"].lower()
                ]
            start = int(params.get("cursor") or 0)
            size = min(int(params.get("limit") or 30), self.page_size_max)
            page = found[start : start + size]
            more = start + size < len(found)
            metadata: Json = {"count": len(page)}
            if more:
                metadata["nextCursor"] = str(start + size)
            return JSONResponse({"servers": page, "metadata": metadata})

        async def latest(request: Request) -> Response:
            if (failed := await check(request)) is not None:
                return failed
            name = request.path_params["name"]
            for found in self.records:
                if found["server"]["name"] == name and found["_meta"][OFFICIAL]["isLatest"]:
                    return JSONResponse(found)
            return JSONResponse({"error": "Server not found"}, status_code=404)

        async def bundle(request: Request) -> Response:
            self.requests.append((request.method, request.url.path))
            data = self.bundles.get(request.path_params["file"])
            if data is None:
                return Response("no such file", status_code=404)
            return Response(data, media_type="application/octet-stream")

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(
            routes=[
                Route("/v0.1/servers", servers, methods=methods),
                Route("/v0.1/servers/{name:path}/versions/latest", latest, methods=methods),
                Route("/bundles/{file}", bundle),
            ]
        )


@asynccontextmanager
async def serve_registry() -> AsyncGenerator[Registry]:
    registry = Registry()

    def build(base_url: str) -> ASGIApp:
        registry.base_url = base_url
        return registry.app()

    async with serve_app(build):
        yield registry


def record(
    name: str,
    *,
    version: str = "1.0.0",
    description: str = "",
    remote: str | None = None,
    transport: str = "streamable-http",
    bundle: tuple[str, str] | None = None,
    title: str | None = None,
    is_latest: bool = True,
    status: str = "active",
    packages: list[Json] | None = None,
) -> Json:
    """A registry ``ServerResponse``: a remote (``remote`` URL) and/or an mcpb package ((url, sha))."""
    server: Json = {
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name,
        "description": description or f"The {name} server",
        "version": version,
        "repository": {"url": f"https://github.com/{name.rsplit('/', 1)[-1]}", "source": "github"},
    }
    if title:
        server["title"] = title
    if remote is not None:
        server["remotes"] = [{"type": transport, "url": remote}]
    server["packages"] = list(packages or [])
    if bundle is not None:
        server["packages"].append(
            {
                "registryType": "mcpb",
                "identifier": bundle[0],
                "fileSha256": bundle[1],
                "version": version,
                "transport": {"type": "stdio"},
            }
        )
    meta = {
        "status": status,
        "publishedAt": "2026-11-01T10:00:00Z",
        "updatedAt": "2026-11-01T10:00:00Z",
        "isLatest": is_latest,
    }
    return {"server": server, "_meta": {OFFICIAL: meta}}
