"""The gateway: tether as one MCP server over every enabled source, under tether's permissions.

``tether mcp`` serves it over stdio and ``tether serve`` at ``/mcp`` (Streamable HTTP, bearer
tokens). Every call goes through ``Host.call_tool``; nothing here calls a source's tool itself.
Importing this package stays cheap: the MCP SDK loads with ``gateway.server``.
"""
