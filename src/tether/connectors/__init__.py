"""Remote connectors: MCP servers reached over Streamable HTTP (or legacy SSE), signed in with OAuth.

``remote.RemoteSource`` is the ToolSource; ``oauth`` and its helpers sign in and keep the
tokens fresh in the secret store. Nothing here imports ``tether.extensions``.
"""
