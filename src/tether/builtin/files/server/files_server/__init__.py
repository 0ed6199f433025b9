"""An MCP server for the user's files: browse, read (text and PDF), change, trash, organize.

Every path is resolved (symlinks included) and must fall inside the allowed directories.
Nothing is ever deleted or overwritten without being asked: old files go to the trash.
"""
