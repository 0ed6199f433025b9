"""Team mode's event relay: what one replica publishes, the others hear at once over a real Redis,
read back from the shared store (a forged message shows nothing)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.abc
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream
from redis.asyncio import Redis

from tests.redis_server import free_port, running_redis
from tether.app import App, open_app
from tether.config import load_settings
from tether.core.activity import ToolCalled
from tether.core.events import ApprovalPending, EventHub, HostEvent
from tether.errors import StoreError
from tether.store import SqlStore, open_store
from tether.store.relay import EventRelay, describe_redis_url, relayed_events
from tether.types import ActivityRecord, Actor, SourceConfig, Verdict

from .samples import approval_request

WAIT_S = 10
ECHO = (sys.executable, str(Path(__file__).parents[1] / "servers" / "echo_server.py"))


@dataclass
class Replica:
    store: SqlStore
    hub: EventHub
    relay: EventRelay


@pytest.fixture
async def replicas(postgres_head_url: str, redis_server_url: str) -> AsyncGenerator[tuple[Replica, Replica]]:
    async with (
        await open_store(postgres_head_url) as store_a,
        await open_store(postgres_head_url) as store_b,
    ):
        hub_a, hub_b = EventHub(), EventHub()
        async with (
            relayed_events(redis_server_url, store_a, hub_a) as relay_a,
            relayed_events(redis_server_url, store_b, hub_b) as relay_b,
        ):
            yield Replica(store_a, hub_a, relay_a), Replica(store_b, hub_b, relay_b)


async def _next(events: MemoryObjectReceiveStream[HostEvent]) -> HostEvent:
    with anyio.fail_after(WAIT_S):
        return await events.receive()


async def _append(replica: Replica, n: int) -> ActivityRecord:
    """What the host does for every call: store the row, then publish it."""
    record = await replica.store.append(
        ToolCalled(source="notes", tool="search", arguments={"n": n}), actor="a"
    )
    replica.hub.publish(record)
    return record


async def test_an_activity_row_stored_on_one_replica_reaches_the_other(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    assert a.relay.channel == b.relay.channel  # one database, one channel
    with b.hub.subscribe() as heard:
        first, second = await _append(a, 1), await _append(a, 2)
        assert [await _next(heard), await _next(heard)] == [first, second]


async def test_a_pending_approval_on_one_replica_reaches_the_other(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    request = approval_request("a-relayed")
    with b.hub.subscribe() as heard:
        await a.store.create_approval(request)
        a.hub.publish(ApprovalPending(request))
        assert await _next(heard) == ApprovalPending(request)


async def test_a_forged_message_shows_nothing_the_store_does_not_hold(
    replicas: tuple[Replica, Replica], redis_server_url: str
) -> None:
    a, b = replicas
    forger = Redis.from_url(redis_server_url)
    try:
        with b.hub.subscribe() as heard:
            for forged in (
                "not json",
                '["a list"]',
                '{"activity": 999}',
                '{"activity": true}',
                '{"activity": "1"}',
                '{"approval": "never-asked"}',
                '{"approval": 7}',
            ):
                await forger.publish(a.relay.channel, forged)
            real = await _append(a, 1)  # published after the forgeries, so heard after them
            assert await _next(heard) == real
    finally:
        await forger.aclose()


async def test_a_decided_approval_announced_late_is_not_shown_as_pending(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    await a.store.create_approval(approval_request("decided"))
    await a.store.resolve_approval("decided", Verdict.DENIED, "web:alice")
    with b.hub.subscribe() as heard:
        a.hub.publish(ApprovalPending(approval_request("decided")))
        real = await _append(a, 1)
        assert await _next(heard) == real


async def test_after_redis_comes_back_the_replicas_hear_each_other_again(
    postgres_head_url: str, redis_binary_path: str
) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with contextlib.ExitStack() as redis_server:
        redis_server.enter_context(running_redis(redis_binary_path, port))
        async with (
            await open_store(postgres_head_url) as store_a,
            await open_store(postgres_head_url) as store_b,
        ):
            a = EventHub()
            b = EventHub()
            async with relayed_events(url, store_a, a), relayed_events(url, store_b, b):
                with b.subscribe() as heard:
                    first = await store_a.append(ToolCalled(source="notes", tool="before"), actor="a")
                    a.publish(first)
                    assert await _next(heard) == first
                    redis_server.close()  # Redis goes away, and comes back
                    redis_server.enter_context(running_redis(redis_binary_path, port))
                    with anyio.fail_after(3 * WAIT_S):
                        # Rows stored before the relays reconnect reach b through its store
                        # watcher (not running here); the first one after is heard at once.
                        while True:
                            row = await store_a.append(ToolCalled(source="notes", tool="after"), actor="a")
                            a.publish(row)
                            with anyio.move_on_after(0.5):
                                event = await heard.receive()
                                assert isinstance(event, ActivityRecord)
                                assert event.tool == "after"
                                break


async def test_an_unreachable_redis_is_a_store_error_that_hides_the_password(postgres_head_url: str) -> None:
    async with await open_store(postgres_head_url) as store:
        with pytest.raises(StoreError) as caught:
            async with relayed_events("redis://:hunter2-secret@127.0.0.1:9/0", store, EventHub()):
                pass
    assert caught.value.code == "store_error"
    assert "hunter2-secret" not in str(caught.value)
    assert "TETHER_REDIS_URL" in str(caught.value)


async def test_a_redis_that_never_answers_is_a_store_error_not_a_hang(tmp_path: Path) -> None:
    # A listener nobody serves: the connection is accepted, no answer ever comes.
    async with await anyio.create_tcp_listener(local_host="127.0.0.1") as silent:
        port = silent.extra(anyio.abc.SocketAttribute.local_port)
        async with await open_store(tmp_path) as store:
            with anyio.fail_after(WAIT_S), pytest.raises(StoreError) as caught:
                async with relayed_events(f"redis://127.0.0.1:{port}/0", store, EventHub()):
                    pass
    assert caught.value.code == "store_error"


def test_a_redis_url_is_shown_with_its_password_masked() -> None:
    assert describe_redis_url("redis://:pw@cache:6380/2") == "redis://:***@cache:6380/2"
    assert describe_redis_url("rediss://tether:pw@cache/0") == "rediss://tether:***@cache/0"
    assert describe_redis_url("redis://cache:6379/0") == "redis://cache:6379/0"
    assert describe_redis_url("redis://cache/0?password=pw&db=1") == "redis://cache/0?password=***&db=1"


@pytest.fixture
async def two_apps(
    tmp_path: Path, postgres_head_url: str, redis_server_url: str
) -> AsyncGenerator[tuple[App, App]]:
    def settings(name: str) -> dict[str, str]:
        return {
            "TETHER_HOME": str(tmp_path / name),
            "TETHER_CONFIG": str(tmp_path / "none.toml"),
            "TETHER_SECRETS_BACKEND": "file",
            "TETHER_DATABASE_URL": postgres_head_url,
            "TETHER_REDIS_URL": redis_server_url,
        }

    async with open_app(load_settings(settings("a"))) as a, open_app(load_settings(settings("b"))) as b:
        yield a, b


async def test_a_call_waiting_on_one_app_is_seen_and_decided_on_the_other_at_once(
    two_apps: tuple[App, App],
) -> None:
    a, b = two_apps
    await a.add_source(Actor("test", "me"), SourceConfig(name="echo", command=ECHO[0], args=ECHO[1:]))
    await a.start_sources()
    answers: list[str] = []

    async def call() -> None:
        result = await a.host.call_tool(Actor("test", "me"), "echo__echo", {"text": "relayed"})
        answers.append(result.text)

    # Neither app watches the store here: what b hears comes over Redis.
    event: HostEvent | None = None
    with b.host.events.subscribe() as heard, anyio.fail_after(3 * WAIT_S):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            event = await _next(heard)
            while not isinstance(event, ApprovalPending):  # a's earlier rows (source added) come first
                event = await _next(heard)
            assert event.request.tool.qualified_name == "echo__echo"
            assert await b.store.resolve_approval(event.request.id, Verdict.APPROVED_ONCE, "web:bob")
        while not (isinstance(event, ActivityRecord) and event.kind == "tool.called"):
            event = await _next(heard)
    assert answers == ["relayed"]
    assert isinstance(event, ActivityRecord)
    assert event.data["verdict"] == "approved_once"
