"""The web UI: Starlette, Jinja2 templates, htmx."""
