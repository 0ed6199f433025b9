"""A call waiting for approval wakes at once when the verdict is set: in this process, or on
another replica whose relay announces it over a real Redis. The waiter always reads the verdict
from the store (a forged announcement decides nothing), and polling stays the fallback.

The waiters here poll only once an hour while the relay is up, so a call that returns within
seconds was woken: it cannot have been polling.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from pathlib import Path

import anyio
import anyio.abc
import anyio.to_thread
import pytest
from redis.asyncio import Redis

from tests.redis_server import free_port, running_redis
from tests.test_cli import ECHO, Tether
from tether.app import App, open_app
from tether.config import load_settings
from tether.core.activity import ToolCalled
from tether.core.events import ApprovalPending, EventHub
from tether.errors import UsageError
from tether.store import SqlStore, open_store
from tether.store.relay import relayed_events
from tether.store.verdicts import POLL_INTERVAL_S
from tether.types import Actor, SourceConfig, Verdict

from .samples import approval_request

WAIT_S = 10
HOUR_S = 3600.0
ME = Actor("test", "me")


def _settings(tmp_path: Path, name: str, database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "TETHER_HOME": str(tmp_path / name),
        "TETHER_CONFIG": str(tmp_path / "none.toml"),
        "TETHER_SECRETS_BACKEND": "file",
        "TETHER_DATABASE_URL": database_url,
        "TETHER_REDIS_URL": redis_url,
        "TETHER_RELAY_VERDICT_POLL_S": str(HOUR_S),
    }


@contextlib.asynccontextmanager
async def _two_apps(tmp_path: Path, database_url: str, redis_url: str) -> AsyncGenerator[tuple[App, App]]:
    async with (
        open_app(load_settings(_settings(tmp_path, "a", database_url, redis_url))) as a,
        open_app(load_settings(_settings(tmp_path, "b", database_url, redis_url))) as b,
    ):
        await a.add_source(ME, SourceConfig(name="echo", command=ECHO[0], args=tuple(ECHO[1:])))
        await a.start_sources()
        yield a, b


async def _asleep(store: SqlStore, approval_id: str) -> None:
    """Until a waiter has read ``approval_id`` pending and sleeps: from now on only a wake-up
    (or its hourly poll) makes it read again."""
    with anyio.fail_after(WAIT_S):
        while not store.verdicts.asleep(approval_id):
            await anyio.wait_all_tasks_blocked()


async def _pending(app: App, tg: anyio.abc.TaskGroup, answers: list[str]) -> str:
    """Start a call on ``app`` that needs approval; the id of that approval, once its waiter sleeps."""

    async def call() -> None:
        result = await app.host.call_tool(ME, "echo__echo", {"text": "woken"})
        answers.append(result.text)

    with app.host.events.subscribe() as events, anyio.fail_after(WAIT_S):
        tg.start_soon(call)
        async for event in events:
            if isinstance(event, ApprovalPending):
                break
        else:
            raise AssertionError("the call never asked for approval")
    await _asleep(app.store, event.request.id)
    return event.request.id


async def test_a_verdict_decided_on_another_app_wakes_the_waiting_call_at_once(
    tmp_path: Path, postgres_head_url: str, redis_server_url: str
) -> None:
    answers: list[str] = []
    async with _two_apps(tmp_path, postgres_head_url, redis_server_url) as (a, b):
        assert a.store.verdicts.poll_interval_s == HOUR_S  # the relay is up: the poll is far off
        with anyio.fail_after(WAIT_S):
            async with anyio.create_task_group() as tg:
                approval_id = await _pending(a, tg, answers)
                assert await b.store.resolve_approval(approval_id, Verdict.APPROVED_ONCE, "web:bob")
    assert answers == ["woken"]


async def test_a_verdict_decided_by_the_approvals_command_wakes_the_waiting_call_at_once(
    tmp_path: Path, postgres_head_url: str, redis_server_url: str
) -> None:
    # The command ends right after deciding: its relay must announce the verdict before it exits.
    cli = Tether(tmp_path / "cli")
    cli.env.update(TETHER_DATABASE_URL=postgres_head_url, TETHER_REDIS_URL=redis_server_url)
    answers: list[str] = []
    async with _two_apps(tmp_path, postgres_head_url, redis_server_url) as (a, _):
        with anyio.fail_after(6 * WAIT_S):  # a Python process starting, far below the hourly poll
            async with anyio.create_task_group() as tg:
                approval_id = await _pending(a, tg, answers)
                await anyio.to_thread.run_sync(lambda: cli("approvals", "approve", approval_id))
    assert answers == ["woken"]


async def test_a_call_waiting_while_redis_stops_still_sees_the_verdict_by_polling(
    tmp_path: Path, postgres_head_url: str, redis_binary_path: str
) -> None:
    port = free_port()
    answers: list[str] = []
    with contextlib.ExitStack() as redis_server:
        redis_server.enter_context(running_redis(redis_binary_path, port))
        url = f"redis://127.0.0.1:{port}/0"
        async with _two_apps(tmp_path, postgres_head_url, url) as (a, b):
            with anyio.fail_after(3 * WAIT_S):
                async with anyio.create_task_group() as tg:
                    approval_id = await _pending(a, tg, answers)
                    redis_server.close()  # nothing can announce the verdict now
                    assert await b.store.resolve_approval(approval_id, Verdict.APPROVED_ONCE, "web:bob")
                    while a.store.verdicts.is_relayed:
                        await anyio.wait_all_tasks_blocked()
                    # The relay is down: the waiter was woken and reads the store every 0.1 s again.
                    assert a.store.verdicts.poll_interval_s == POLL_INTERVAL_S
    assert answers == ["woken"]


async def test_a_forged_verdict_message_only_makes_the_waiter_read_the_store_again(
    postgres_head_url: str, redis_server_url: str
) -> None:
    async with (
        await open_store(postgres_head_url) as store_a,
        await open_store(postgres_head_url) as store_b,
    ):
        hub_a, hub_b = EventHub(), EventHub()
        async with (
            relayed_events(redis_server_url, store_a, hub_a, verdict_poll_s=HOUR_S) as relay_a,
            relayed_events(redis_server_url, store_b, hub_b, verdict_poll_s=HOUR_S),
        ):
            await store_a.create_approval(approval_request("forged"))
            seen: list[Verdict] = []

            async def wait() -> None:
                seen.append(await store_b.wait_for_verdict("forged"))

            forger = Redis.from_url(redis_server_url)
            try:
                with anyio.fail_after(WAIT_S), hub_b.subscribe() as heard:
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(wait)
                        await _asleep(store_b, "forged")
                        for forged in (
                            '{"decided": "forged"}',
                            '{"decided": 7}',
                            '{"decided": "never-asked"}',
                        ):
                            await forger.publish(relay_a.channel, forged)
                        # A real row sent after the forgeries is heard after them.
                        row = await store_a.append(ToolCalled(source="notes", tool="search"), actor="a")
                        hub_a.publish(row)
                        assert await heard.receive() == row
                        await _asleep(store_b, "forged")  # woken, read the store, asleep again
                        assert seen == []
                        assert (await store_b.get_approval("forged")).verdict is None
                        assert await store_a.resolve_approval("forged", Verdict.DENIED, "web:alice")
            finally:
                await forger.aclose()
    assert seen == [Verdict.DENIED]


async def test_a_verdict_set_through_the_same_store_wakes_its_waiter_at_once(store: SqlStore) -> None:
    store.verdicts.relay_up(HOUR_S)  # as with a relay: only a wake-up can end the wait in time
    await store.create_approval(approval_request())
    seen: list[Verdict] = []

    async def wait() -> None:
        seen.append(await store.wait_for_verdict("a1"))

    with anyio.fail_after(WAIT_S):
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait)
            await _asleep(store, "a1")
            assert await store.resolve_approval("a1", Verdict.APPROVED_ONCE, "web:alice")
    assert seen == [Verdict.APPROVED_ONCE]


async def test_a_relay_poll_of_zero_seconds_is_refused_saying_what_to_set(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "a", "", "redis://127.0.0.1:9/0")
    settings["TETHER_RELAY_VERDICT_POLL_S"] = "0"
    with pytest.raises(UsageError) as caught:
        async with open_app(load_settings(settings)):
            pass
    assert caught.value.code == "usage"
    assert "relay_verdict_poll_s" in str(caught.value)
