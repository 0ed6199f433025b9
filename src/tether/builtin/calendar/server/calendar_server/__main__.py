"""``python -m calendar_server``: see ``app.main``."""

from .app import main

main()
