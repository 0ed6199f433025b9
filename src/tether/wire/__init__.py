"""The MCP wire seen from tether: converting SDK types and listing a client's catalog.

Shared by every kind of source (local extensions and remote connectors). It may use the
``mcp`` SDK's types and a connected ``Client``, but it opens no connection of its own.
"""
