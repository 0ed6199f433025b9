"""The ``tether`` command line: Typer commands over ``open_app``; sync only at this edge.

Errors become one line that says what to do and an exit code from ``EXIT_CODES``;
``--debug`` shows the traceback instead.
"""
