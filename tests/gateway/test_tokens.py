"""Gateway tokens: stored hashed, shown once, scoped, revocable; each step on the activity log."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from tests.fakes import MemoryStore
from tests.gateway.processes import make_home
from tether.core.host import Host
from tether.errors import AlreadyExists, InvalidName, NotFound
from tether.gateway.auth import TokenVerifier
from tether.gateway.tokens import hash_token, issue_token, revoke_token
from tether.store import SqlStore, open_store
from tether.types import Actor

ME = Actor("cli", "test")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncGenerator[SqlStore]:
    async with await open_store(tmp_path / "data") as store:
        yield store


async def test_a_token_is_stored_only_as_its_hash_and_found_by_it(store: SqlStore) -> None:
    async with Host(MemoryStore()) as host:
        issued = await issue_token(store, host, ME, "cursor", sources=["notes", "files"])
    found = await store.token_by_hash(hash_token(issued.secret))
    assert found is not None
    assert found.name == "cursor"
    assert found.sources == ("files", "notes")
    assert issued.secret not in repr(found)
    assert await store.token_by_hash(hash_token(issued.secret + "x")) is None


async def test_a_revoked_token_is_not_found_and_its_name_can_be_used_again(store: SqlStore) -> None:
    memory = MemoryStore()
    async with Host(memory) as host:
        first = await issue_token(store, host, ME, "cursor")
        with pytest.raises(AlreadyExists):
            await issue_token(store, host, ME, "cursor")
        await revoke_token(store, host, ME, "cursor")
        with pytest.raises(NotFound):
            await revoke_token(store, host, ME, "cursor")
        second = await issue_token(store, host, ME, "cursor")
    assert await store.token_by_hash(hash_token(first.secret)) is None
    assert await store.token_by_hash(hash_token(second.secret)) is not None
    assert [t.name for t in await store.list_tokens()] == ["cursor"]
    assert [r.kind for r in memory.activity] == ["token.created", "token.revoked", "token.created"]


async def test_a_bad_token_name_is_refused(store: SqlStore) -> None:
    async with Host(MemoryStore()) as host:
        with pytest.raises(InvalidName):
            await issue_token(store, host, ME, "two words")


async def test_the_verifier_names_the_token_and_carries_its_scope(store: SqlStore) -> None:
    async with Host(MemoryStore()) as host:
        issued = await issue_token(store, host, ME, "laptop", sources=["notes"], uses_tool_search=True)
    verifier = TokenVerifier(store)
    access = await verifier.verify_token(issued.secret)
    assert access is not None
    assert access.client_id == "laptop"
    assert access.claims == {"sources": ["notes"], "tool_search": True}
    assert await verifier.verify_token("tether_not-a-token") is None
    assert await verifier.verify_token("not even the prefix") is None


def test_the_token_commands_create_list_and_revoke(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    created = home.tether("token", "create", "--name", "laptop", "--tool-search")
    secret = created.stdout.strip()
    assert secret.startswith("tether_")
    assert "not shown again" in created.stderr
    listed = home.tether("token", "list").stdout
    assert "laptop" in listed
    assert secret not in listed
    home.tether("token", "revoke", "laptop")
    assert home.tether("token", "revoke", "laptop", check=False).returncode == 3
    assert home.tether("token", "create", "--name", "x", "--sources", "nope", check=False).returncode == 2
