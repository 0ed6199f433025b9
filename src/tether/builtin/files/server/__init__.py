"""The Files server's code; ``main.py`` is the bundle's entry point."""
