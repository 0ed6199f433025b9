"""``python -m mail_server``: see ``app.main``."""

from .app import main

main()
