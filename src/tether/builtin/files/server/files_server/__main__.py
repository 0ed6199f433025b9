"""``python -m files_server``: see ``app.main``."""

from .app import main

main()
