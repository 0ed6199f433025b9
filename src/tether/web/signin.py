"""Connecting a connector from the browser: the OAuth flow through ``GET /oauth/callback``.

``WebSignIn`` is the ``SignIn`` seam of ``connectors.login.sign_in_with``: it hands the
authorization URL to the page (which sends the browser there) and receives the redirect
back on the web UI's own callback route. A sign-in runs in the app's task group, so it
outlives the request that started it; the callback finds it by its OAuth ``state``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.abc

from tether.connectors.signin import Callback
from tether.errors import TetherError, UsageError

CALLBACK_PATH = "/oauth/callback"
START_TIMEOUT_S = 30.0
"""How long Connect waits for the authorization URL (discovery and registration) or an answer."""
FINISH_TIMEOUT_S = 60.0
"""How long the callback page waits for the token exchange and the first connection."""


class WebSignIn:
    """One sign-in in flight: where the browser goes, and the redirect it comes back with."""

    def __init__(self, connector: str, redirect_uri: str) -> None:
        self.connector = connector
        self._redirect_uri = redirect_uri
        self.authorization_url: str | None = None
        self.state: str | None = None
        self.opened = anyio.Event()
        self._send, self._receive = anyio.create_memory_object_stream[Callback](1)

    @property
    def redirect_uri(self) -> str:
        return self._redirect_uri

    async def open(self, authorization_url: str) -> None:
        self.authorization_url = authorization_url
        self.state = parse_qs(urlsplit(authorization_url).query).get("state", [None])[0]
        self.opened.set()

    async def wait_for_callback(self) -> Callback:
        return await self._receive.receive()

    def close(self) -> None:
        self._send.close()
        self._receive.close()

    def deliver(self, callback: Callback) -> bool:
        """Hand the redirect to the waiting flow; False when one was delivered already."""
        try:
            self._send.send_nowait(callback)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            return False
        return True


@dataclass
class Flight:
    """A sign-in and how it ended: ``message`` on success, ``error`` on failure."""

    sign_in: WebSignIn
    done: anyio.Event = field(default_factory=anyio.Event)
    message: str = ""
    error: TetherError | None = None


SignInRun = Callable[[WebSignIn], Awaitable[str]]
"""Runs the flow with the given SignIn and returns what to tell the person (raises TetherError)."""


class SignIns:
    """The sign-ins in flight, owned by the web app's task group (set by its lifespan)."""

    def __init__(self) -> None:
        self.task_group: anyio.abc.TaskGroup | None = None
        self._by_state: dict[str, Flight] = {}

    async def start(self, sign_in: WebSignIn, run: SignInRun) -> Flight:
        """Start the flow; return once the browser has somewhere to go or the flow ended."""
        if self.task_group is None:
            sign_in.close()
            raise UsageError("the web UI is not running its background tasks: start it with `tether serve`")
        flight = Flight(sign_in)

        async def fly() -> None:
            try:
                flight.message = await run(sign_in)
            except TetherError as error:
                flight.error = error
            finally:
                sign_in.close()
                flight.done.set()
                if sign_in.state is not None:
                    self._by_state.pop(sign_in.state, None)

        self.task_group.start_soon(fly)
        with anyio.move_on_after(START_TIMEOUT_S):
            async with anyio.create_task_group() as first:

                async def opened() -> None:
                    await sign_in.opened.wait()
                    first.cancel_scope.cancel()

                async def ended() -> None:
                    await flight.done.wait()
                    first.cancel_scope.cancel()

                first.start_soon(opened)
                first.start_soon(ended)
        if sign_in.state is not None and not flight.done.is_set():
            self._by_state[sign_in.state] = flight
        return flight

    def find(self, state: str | None) -> Flight | None:
        return self._by_state.get(state) if state else None
