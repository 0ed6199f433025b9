"""Permissions, pinned definitions and settings are stored per tool (or key) and read back whole."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import anyio

from tether.core.pinning import definition_hash
from tether.core.storage import ToolPolicy
from tether.store import SqlStore, open_store
from tether.types import JSON, Effect

from .samples import DELETE, SEARCH


async def test_a_tool_without_a_policy_has_no_stored_effect(store: SqlStore) -> None:
    assert await store.get_effect("notes", "search") is None
    assert await store.all_effects() == {}


async def test_setting_an_effect_returns_the_one_it_replaced(store: SqlStore) -> None:
    assert await store.set_effect("notes", "search", Effect.ALLOW) is None
    assert await store.set_effect("notes", "search", Effect.BLOCK) is Effect.ALLOW
    assert await store.set_effect("notes", "search", Effect.BLOCK) is Effect.BLOCK
    assert await store.get_effect("notes", "search") is Effect.BLOCK


async def test_all_effects_lists_every_stored_policy(store: SqlStore) -> None:
    await store.set_effect("notes", "search", Effect.ALLOW)
    await store.set_effect("notes", "delete", Effect.BLOCK)
    await store.set_effect("files", "read", Effect.ASK)
    assert await store.all_effects() == {
        ("notes", "search"): Effect.ALLOW,
        ("notes", "delete"): Effect.BLOCK,
        ("files", "read"): Effect.ASK,
    }


async def test_a_pinned_definition_reads_back_with_its_hash_and_the_effect(store: SqlStore) -> None:
    await store.set_effect("notes", "search", Effect.ALLOW)
    await store.set_pin("notes", "search", SEARCH, definition_hash(SEARCH))
    assert await store.get_policy("notes", "search") == ToolPolicy(
        Effect.ALLOW, SEARCH, definition_hash(SEARCH)
    )


async def test_a_pin_needs_no_effect_and_a_new_pin_replaces_the_old(store: SqlStore) -> None:
    changed = dataclasses.replace(SEARCH, description="Search the notes, then mail them away.")
    await store.set_pin("notes", "search", SEARCH, definition_hash(SEARCH))
    await store.set_pin("notes", "search", changed, definition_hash(changed))
    assert await store.get_policy("notes", "search") == ToolPolicy(None, changed, definition_hash(changed))
    assert await store.get_policy("notes", "delete") == ToolPolicy()
    assert await store.all_effects() == {}


async def test_pins_are_per_source_and_tool(store: SqlStore) -> None:
    await store.set_pin("notes", "search", SEARCH, definition_hash(SEARCH))
    await store.set_pin("files", "search", DELETE, definition_hash(DELETE))
    assert (await store.get_policy("notes", "search")).pinned == SEARCH
    assert (await store.get_policy("files", "search")).pinned == DELETE


async def test_a_setting_never_set_is_none(store: SqlStore) -> None:
    assert await store.get_setting("policy.rules") is None


async def test_a_setting_reads_back_the_json_value_last_set(store: SqlStore) -> None:
    await store.set_setting("policy.rules", ["ask-destructive"])
    await store.set_setting("policy.rules", ["allow-read-only", "ask-destructive"])
    await store.set_setting("ui", {"theme": "dark", "zoom": 1.25, "pinned": None})
    assert await store.get_setting("policy.rules") == ["allow-read-only", "ask-destructive"]
    assert await store.get_setting("ui") == {"theme": "dark", "zoom": 1.25, "pinned": None}


async def test_a_setting_reads_back_whatever_json_it_holds(store: SqlStore) -> None:
    values: list[JSON] = [7, 2.5, "7", None, True, [], {"n": 1}]
    for value in values:
        await store.set_setting("any", value)
        assert await store.get_setting("any") == value


async def test_two_stores_setting_a_new_tool_at_once_see_one_first_write(
    store: SqlStore, location: Path | str
) -> None:
    previous: dict[str, list[Effect | None]] = {}

    async def set_effect(on: SqlStore, effect: Effect, tool: str) -> None:
        previous.setdefault(tool, []).append(await on.set_effect("notes", tool, effect))

    async with await open_store(location) as other:
        for tool in (f"t{n}" for n in range(20)):
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(set_effect, store, Effect.ALLOW, tool)
                    tg.start_soon(set_effect, other, Effect.BLOCK, tool)
            # One found no policy; the other found the first one's effect and replaced it.
            assert previous[tool].count(None) == 1
            (seen,) = [effect for effect in previous[tool] if effect is not None]
            assert {seen, await store.get_effect("notes", tool)} == {Effect.ALLOW, Effect.BLOCK}


async def test_a_setting_stored_by_default_once_is_what_every_store_gets(
    store: SqlStore, location: Path | str
) -> None:
    async with await open_store(location) as other:
        got: list[JSON] = []

        async def take(on: SqlStore, default: str) -> None:
            got.append(await on.setting_or_default("team.id", default))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(take, store, "first")
                tg.start_soon(take, other, "second")
    assert got[0] == got[1] == await store.get_setting("team.id")
    assert got[0] in ("first", "second")
    assert await store.setting_or_default("team.id", "third") == got[0]
