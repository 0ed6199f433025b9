"""The web UI: Starlette, Jinja2 templates, htmx and server-sent events; no build step.

Start at ``app.py`` (the route table); ``docs/web.md`` says what each page does.
"""
