"""Tests of the web UI: in-process through the ASGI app, live over uvicorn, and in Chromium."""
