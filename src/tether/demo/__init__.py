"""Demos that ship with tether: ``tether demo tasks-server``, a real remote MCP server with OAuth.

Only the CLI imports this package; tests use it as the remote end of a connector.
"""
