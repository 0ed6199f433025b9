"""The Files built-in: this directory is the bundle (manifest.json + server/).

Nothing here is imported by tether; the package files only let the type checker and the
import contracts see the server code. They are left out of the bundle (.mcpbignore).
"""
