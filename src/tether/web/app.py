"""The web application: for now a status page of sources and tools, read-only.

It binds where ``tether serve`` tells it (127.0.0.1 by default) and answers only to local
Host headers, so a DNS-rebinding page cannot reach it. The full UI comes with the web issue.
"""

from __future__ import annotations

from html import escape

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from tether.core.host import Host

LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tether</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}
td,th{{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd}}
@media (prefers-color-scheme:dark){{body{{background:#111;color:#eee}}td,th{{border-color:#333}}}}</style>
</head><body><h1>tether</h1><p>Sources and tools. Manage them with the <code>tether</code> command.</p>
<h2>Sources</h2><table><tr><th>source</th><th>state</th><th>details</th></tr>{sources}</table>
<h2>Tools</h2><table><tr><th>tool</th><th>description</th></tr>{tools}</table></body></html>"""


def create_web_app(host: Host) -> Starlette:
    async def index(request: Request) -> HTMLResponse:
        sources = "".join(
            f"<tr><td>{escape(name)}</td><td>{escape(status.state.value)}</td><td>{escape(status.detail)}</td></tr>"
            for name, status in host.statuses().items()
        )
        tools = "".join(
            f"<tr><td>{escape(t.qualified_name)}</td><td>{escape(t.definition.description[:120])}</td></tr>"
            for t in await host.tools()
        )
        return HTMLResponse(PAGE.format(sources=sources, tools=tools))

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "sources": {n: s.state.value for n, s in host.statuses().items()}})

    return Starlette(
        routes=[Route("/", index), Route("/healthz", health)],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=LOCAL_HOSTS)],
    )
