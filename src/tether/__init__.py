"""tether: an open MCP host."""
