"""The Mail drafts server's code; ``main.py`` is the bundle's entry point."""
