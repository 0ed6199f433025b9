"""``tether connector edit`` as a user runs it: a real process on a temporary data dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.shared.auth import OAuthToken

from tests.connectors.conftest import vault_for
from tests.connectors.test_connector_cli import tether
from tether.store.db import open_store
from tether.types import SourceConfig, SourceKind

pytestmark = pytest.mark.anyio

OLD_URL = "http://127.0.0.1:9/mcp"
NEW_URL = "http://127.0.0.1:9/v2/mcp"
OTHER_SERVER_URL = "http://localhost:9/mcp"
SECRET = "Bearer cli-secret-0123456789"


async def stored(home: Path, name: str = "crm") -> SourceConfig:
    store = await open_store(home)
    try:
        return await store.get_source(name)
    finally:
        await store.close()


async def test_edit_changes_what_is_given_and_keeps_the_rest(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, _, err = await tether(home, "connector", "add", "crm", OLD_URL, "-H", f"Authorization={SECRET}")
    assert code == 0, err
    vault_for(home, "crm", OLD_URL).save_token(OAuthToken(access_token="old-access", token_type="Bearer"))

    code, out, err = await tether(home, "connector", "edit", "crm", "--url", NEW_URL, "--transport", "sse")
    assert code == 0, err
    assert "changed url, transport" in out
    assert "signed out" in out
    assert SECRET not in out + err
    config = await stored(home)
    assert (config.url, config.kind, config.call_timeout_s) == (NEW_URL, SourceKind.SSE, 60.0)
    vault = vault_for(home, "crm", NEW_URL)
    assert vault.load_headers() == {"Authorization": SECRET}
    assert vault.grant_fingerprint() is None

    code, out, _ = await tether(home, "connector", "edit", "crm", "--clear-headers", "--timeout", "5")
    assert code == 0
    assert vault_for(home, "crm", NEW_URL).load_headers() == {}
    assert (await stored(home)).call_timeout_s == 5.0


async def test_headers_never_follow_the_connector_to_another_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, _, err = await tether(home, "connector", "add", "crm", OLD_URL, "-H", f"Authorization={SECRET}")
    assert code == 0, err

    code, out, err = await tether(home, "connector", "edit", "crm", "--url", OTHER_SERVER_URL)
    assert code == 0, err
    assert "headers dropped" in out
    assert SECRET not in out + err
    assert vault_for(home, "crm", OTHER_SERVER_URL).load_headers() == {}

    # Headers given in the same edit are the new server's own: they are kept.
    code, out, err = await tether(home, "connector", "edit", "crm", "--url", OLD_URL, "-H", "X-Key=new-key")
    assert code == 0, err
    assert "headers dropped" not in out
    assert vault_for(home, "crm", OLD_URL).load_headers() == {"X-Key": "new-key"}


async def test_a_bad_edit_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, _, _ = await tether(home, "connector", "add", "crm", OLD_URL)
    assert code == 0
    code, _, err = await tether(home, "connector", "edit", "crm", "--url", "ftp://nowhere", "--timeout", "9")
    assert code == 2
    assert "url" in err
    config = await stored(home)
    assert (config.url, config.call_timeout_s) == (OLD_URL, 60.0)
    code, _, _ = await tether(home, "connector", "edit", "crm", "--client-secret", "s3cret")
    assert code == 2
    code, _, _ = await tether(home, "connector", "edit", "nobody", "--timeout", "9")
    assert code != 0
