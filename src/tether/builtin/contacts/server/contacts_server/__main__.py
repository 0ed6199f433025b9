"""``python -m contacts_server``: see ``app.main``."""

from .app import main

main()
