"""A connector to the reference tasks server, end to end: add, sign in, call, restart, refresh, sign out."""

from __future__ import annotations

import anyio
import pytest

from tests.connectors.conftest import ME, app_on, connector, login, remote, running, vault_for, wait_for
from tests.connectors.servers import WAIT_S, Browser, serve_tasks
from tether.config import Settings
from tether.connectors.login import Revocation, sign_out
from tether.connectors.netguard import NetworkGuard
from tether.errors import NeedsSignIn
from tether.types import SourceState

pytestmark = pytest.mark.anyio


async def test_add_sign_in_call_and_restart_without_a_new_sign_in(settings: Settings) -> None:
    async with serve_tasks() as server:
        async with app_on(settings) as app:
            await app.add_source(ME, connector("tasks", server.mcp_url))
            await app.start_sources()
            assert app.host.statuses()["tasks"].state is SourceState.NEEDS_SIGN_IN
            with pytest.raises(NeedsSignIn) as refused:
                await app.host.source("tasks").call_tool("whoami", {})
            assert refused.value.code == "needs_sign_in"

            result = await login(
                app.connector_vault(await app.store.get_source("tasks")), Browser(user="ann")
            )
            assert result.is_needed
            assert result.scope == "tasks:read tasks:write"
            await app.reconcile()
            source = app.host.source("tasks")
            source.reconnect()  # pyright: ignore[reportAttributeAccessIssue]
            await wait_for(source, SourceState.RUNNING)  # pyright: ignore[reportArgumentType]
            with anyio.fail_after(WAIT_S):
                created = await app.host.call_tool(ME, "tasks__create_task", {"title": "write the docs"})
            assert created.structured is not None
            assert created.structured["title"] == "write the docs"

        async with app_on(settings) as app:  # a restart: same data dir, no sign-in
            await app.start_sources()
            assert app.host.statuses()["tasks"].state is SourceState.RUNNING
            with anyio.fail_after(WAIT_S):
                mine = await app.host.call_tool(ME, "tasks__list_tasks", {})
                who = await app.host.call_tool(ME, "tasks__whoami", {})
            assert "write the docs" in mine.text
            assert who.text == "ann"
        assert b"access_token" not in (settings.home / "tether.db").read_bytes()


async def test_an_expired_token_is_refreshed_before_the_call_and_the_refresh_token_rotates(
    settings: Settings,
) -> None:
    async with serve_tasks() as server:
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        await login(vault)
        first = vault.load_grant()
        assert first is not None
        assert first.token.refresh_token
        server.authority.grants.access.clear()  # the server let every access token expire
        vault.save_token(first.token.model_copy(update={"expires_in": 0}))  # and so does tether's clock
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.RUNNING
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("whoami", {})).text == "alice"
        second = vault.load_grant()
        assert server.authority.refresh_count == 1
        assert second is not None
        assert second.token.refresh_token != first.token.refresh_token
        assert first.token.refresh_token not in server.authority.grants.refresh  # rotated out


async def test_a_token_the_server_stopped_accepting_is_refreshed_mid_session(settings: Settings) -> None:
    async with serve_tasks() as server:
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        await login(vault)
        async with running(remote(vault)) as source:
            server.authority.grants.access.clear()
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("whoami", {})).text == "alice"
        assert server.authority.refresh_count == 1


async def test_logout_revokes_the_tokens_and_the_next_start_needs_sign_in(settings: Settings) -> None:
    async with serve_tasks() as server:
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        await login(vault)
        grant = vault.load_grant()
        assert grant is not None
        with anyio.fail_after(WAIT_S):
            outcome = await sign_out(vault, guard=NetworkGuard(vault.url))
        assert outcome is Revocation.REVOKED
        assert grant.token.access_token not in server.authority.grants.access
        assert grant.token.refresh_token not in server.authority.grants.refresh
        assert vault.load_grant() is None
        assert vault.load_client() is not None  # the registration is kept for the next sign-in
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.NEEDS_SIGN_IN
            assert source.last_error is not None
            assert source.last_error.code == "needs_sign_in"


async def test_a_purged_registration_asks_for_sign_in_and_the_next_one_registers_again(
    settings: Settings,
) -> None:
    async with serve_tasks() as server:
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        await login(vault)
        old = vault.load_client()
        assert old is not None
        server.authority.purge_registrations()
        server.authority.grants.access.clear()
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.NEEDS_SIGN_IN
            assert source.last_error is not None
            assert source.last_error.code == "needs_sign_in"
            assert vault.load_client() is None
            await login(vault)
            await wait_for(source, SourceState.RUNNING)
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("whoami", {})).text == "alice"
        new = vault.load_client()
        assert new is not None
        assert new.info.client_id != old.info.client_id


async def test_writing_asks_for_more_scopes_and_a_new_sign_in_grants_them(settings: Settings) -> None:
    async with serve_tasks() as server:
        server.quirks.step_up = True
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        assert (await login(vault)).scope == "tasks:read"
        async with running(remote(vault)) as source:
            with anyio.fail_after(WAIT_S):
                with pytest.raises(NeedsSignIn) as refused:
                    await source.call_tool("create_task", {"title": "x"})
                assert refused.value.code == "needs_sign_in"
                assert "tasks:write" in str(refused.value)
                assert source.status.state is SourceState.RUNNING  # reading still works
                assert not (await source.call_tool("list_tasks", {})).is_error
            result = await login(vault)
            assert result.scope is not None
            assert "tasks:write" in result.scope.split()
            await wait_for(source, SourceState.RUNNING)
            with anyio.fail_after(WAIT_S):
                created = await source.call_tool("create_task", {"title": "x"})
            assert not created.is_error


async def test_each_user_sees_only_their_own_tasks(settings: Settings) -> None:
    async with serve_tasks() as server:
        ann = vault_for(settings.home, "ann", server.mcp_url)
        bob = vault_for(settings.home, "bob", server.mcp_url)
        await login(ann, Browser(user="ann"))
        await login(bob, Browser(user="bob"))
        async with running(remote(ann)) as as_ann, running(remote(bob)) as as_bob:
            with anyio.fail_after(WAIT_S):
                await as_ann.call_tool("create_task", {"title": "ann's secret plan"})
                assert "ann's secret plan" in (await as_ann.call_tool("search_tasks", {"text": "plan"})).text
                assert "plan" not in (await as_bob.call_tool("search_tasks", {"text": "plan"})).text
