"""Sources and tool catalogs survive a trip through the database unchanged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import anyio
import pytest

from tether.core.pinning import definition_hash
from tether.core.storage import ToolPolicy
from tether.errors import AlreadyExists, UnknownSource
from tether.store import SqlStore, open_store
from tether.types import Effect, SourceConfig, SourceKind, ToolAnnotations

from .samples import DELETE, SEARCH, raw_database, stdio_source


async def test_an_added_source_reads_back_equal(store: SqlStore) -> None:
    config = stdio_source()
    await store.add_source(config)
    assert await store.get_source("notes") == config
    assert (await store.get_source("notes")).args == ("-m", "notes_server", "--verbose")


async def test_a_source_survives_reopening_the_store(location: Path | str) -> None:
    remote = SourceConfig(name="linear", kind=SourceKind.HTTP, url="https://mcp.linear.app/mcp")
    async with await open_store(location) as store:
        await store.add_source(remote)
    async with await open_store(location) as store:
        assert await store.list_sources() == [remote]


async def test_sources_are_listed_by_name(store: SqlStore) -> None:
    for name in ("zeta", "alpha", "mid"):
        await store.add_source(SourceConfig(name=name, command="x"))
    assert [c.name for c in await store.list_sources()] == ["alpha", "mid", "zeta"]


async def test_adding_a_source_twice_is_already_exists(store: SqlStore) -> None:
    await store.add_source(stdio_source())
    with pytest.raises(AlreadyExists) as caught:
        await store.add_source(stdio_source())
    assert caught.value.code == "already_exists"


async def test_an_unknown_source_cannot_be_read_updated_or_removed(store: SqlStore) -> None:
    with pytest.raises(UnknownSource):
        await store.get_source("ghost")
    with pytest.raises(UnknownSource):
        await store.update_source(SourceConfig(name="ghost"))
    with pytest.raises(UnknownSource) as caught:
        await store.remove_source("ghost")
    assert caught.value.code == "unknown_source"


async def test_updating_a_source_replaces_its_config_but_not_its_creation_time(
    store: SqlStore, location: Path | str
) -> None:
    await store.add_source(stdio_source())
    changed = dataclasses.replace(stdio_source(), is_enabled=True, args=(), env={}, call_timeout_s=5.0)
    await store.update_source(changed)
    assert await store.get_source("notes") == changed
    with raw_database(location) as db:
        created_at, updated_at = db.execute("SELECT created_at, updated_at FROM sources").fetchone()
    assert created_at <= updated_at


async def test_removing_a_source_forgets_its_tools_policies_and_pins(store: SqlStore) -> None:
    await store.add_source(stdio_source())
    await store.save_tools("notes", [SEARCH])
    await store.set_effect("notes", "search", Effect.ALLOW)
    await store.set_pin("notes", "search", SEARCH, definition_hash(SEARCH))
    await store.set_effect("other", "search", Effect.BLOCK)
    await store.remove_source("notes")
    assert await store.list_sources() == []
    assert await store.known_tools("notes") == []
    assert await store.get_policy("notes", "search") == ToolPolicy()
    assert await store.all_effects() == {("other", "search"): Effect.BLOCK}


async def test_saved_tools_read_back_equal_with_schemas_and_annotations(store: SqlStore) -> None:
    await store.save_tools("notes", [SEARCH, DELETE])
    known = await store.known_tools("notes")
    assert sorted(known, key=lambda t: t.name) == [DELETE, SEARCH]
    assert next(t for t in known if t.name == "search").annotations == SEARCH.annotations


async def test_saving_tools_replaces_the_previous_catalog_of_that_source_only(store: SqlStore) -> None:
    await store.save_tools("notes", [SEARCH, DELETE])
    await store.save_tools("files", [SEARCH])
    await store.save_tools("notes", [DELETE])
    assert await store.known_tools("notes") == [DELETE]
    assert await store.known_tools("files") == [SEARCH]
    await store.save_tools("notes", [])
    assert await store.known_tools("notes") == []


async def test_a_source_never_seen_has_no_known_tools(store: SqlStore) -> None:
    assert await store.known_tools("never") == []


async def test_the_stored_definition_hash_changes_with_any_part_of_a_tool(
    store: SqlStore, location: Path | str
) -> None:
    await store.save_tools("notes", [SEARCH])
    with raw_database(location) as db:
        (stored,) = db.execute("SELECT definition_hash FROM tools").fetchone()
    assert stored == definition_hash(SEARCH)
    assert definition_hash(dataclasses.replace(SEARCH, description="Exfiltrate the notes.")) != stored
    reannotated = dataclasses.replace(SEARCH, annotations=ToolAnnotations(read_only=False))
    assert definition_hash(reannotated) != stored


async def test_two_stores_saving_one_catalog_at_once_both_succeed(
    store: SqlStore, location: Path | str
) -> None:
    async with await open_store(location) as other:
        for n in range(20):
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(store.save_tools, f"s{n}", [SEARCH, DELETE])
                    tg.start_soon(other.save_tools, f"s{n}", [DELETE, SEARCH])
            assert await store.known_tools(f"s{n}") == [DELETE, SEARCH]
