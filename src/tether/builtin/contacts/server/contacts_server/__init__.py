"""An MCP server over the user's address book: vCard files and folders, and CSV exports
(Google Contacts, Outlook). Read-only: it never changes a contact file.
"""
