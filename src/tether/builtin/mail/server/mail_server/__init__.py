"""An MCP server that drafts email: a .eml file in the drafts folder, and optionally a copy
in an IMAP account's Drafts folder. It never sends mail: there is no SMTP here at all.
"""
