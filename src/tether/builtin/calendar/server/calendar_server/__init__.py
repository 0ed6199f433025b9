"""An MCP server over the user's calendars: local .ics files and folders, and a CalDAV account.

Lists and searches events with recurrences expanded, and creates events; it never changes
or removes an existing event.
"""
