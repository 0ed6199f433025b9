"""Errors as HTTP answers: one table from tether's error codes to status codes.

An htmx request gets the message alone (the page shows it in place); a page request gets
the message in a small page. Messages are the errors' own, written for people.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from tether import errors

HTTP_STATUS: dict[type[errors.TetherError], int] = {
    errors.UsageError: 422,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.Refused: 403,
    errors.SourceError: 502,
    errors.ModelError: 502,
    errors.StoreError: 500,
    errors.TetherError: 500,
}


def status_for(error: errors.TetherError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]  # pyright: ignore[reportArgumentType]
    return 500


async def error_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, errors.TetherError):
        status, message = status_for(exc), str(exc)
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, exc.detail
    else:
        raise exc
    if request.headers.get("hx-request") or "text/html" not in request.headers.get("accept", ""):
        return PlainTextResponse(message, status_code=status)
    page = request.app.state.web.pages.fragment("error.html", {"status": status, "message": message})
    return HTMLResponse(page, status_code=status)
