"""Machine-to-machine connectors: the client_credentials grant against the reference tasks server.

No browser anywhere: the connector gets its token with its client id and secret, asks again
when the token expires or is refused, and says plainly when the secret is wrong. The
private_key_jwt variant is checked here for its assertion and in the conformance suite end to end.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import anyio
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.connectors.conftest import remote, running, vault_for, wait_for
from tests.connectors.servers import WAIT_S, serve_tasks
from tests.connectors.test_connector_cli import tether
from tether.config import Settings
from tether.connectors.machine import machine_client, sign_assertion
from tether.errors import UsageError
from tether.types import SourceState

pytestmark = pytest.mark.anyio

SECRET = "robot-secret-5e1f0c"


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _part(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


async def test_a_service_client_connects_without_a_browser_and_acts_as_its_own_user(
    settings: Settings,
) -> None:
    async with serve_tasks() as server:
        server.authority.register_service_client("robot", SECRET)
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        vault.save_client(machine_client("robot", client_secret=SECRET))
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.RUNNING, source.status.detail
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("whoami", {})).text == "robot"
        grant = vault.load_grant()
        assert grant is not None
        assert grant.token.refresh_token is None
        assert grant.token.scope == "tasks:read tasks:write"  # from the resource metadata
        assert server.authority.client_credentials_count == 1
        issued = server.authority.grants.access[grant.token.access_token]
        assert issued.resource == server.mcp_url  # the resource indicator was sent


async def test_a_token_the_server_stopped_accepting_is_asked_for_again_mid_session(
    settings: Settings,
) -> None:
    async with serve_tasks() as server:
        server.authority.register_service_client("robot", SECRET)
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        vault.save_client(machine_client("robot", client_secret=SECRET))
        async with running(remote(vault)) as source:
            first = vault.load_grant()
            server.authority.grants.access.clear()  # every token expired at the server
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("whoami", {})).text == "robot"
            second = vault.load_grant()
        assert first is not None
        assert second is not None
        assert second.token.access_token != first.token.access_token
        assert server.authority.client_credentials_count == 2


async def test_an_expired_token_is_replaced_before_it_is_sent_also_after_a_restart(
    settings: Settings,
) -> None:
    async with serve_tasks() as server:
        server.authority.register_service_client("robot", SECRET)
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        vault.save_client(machine_client("robot", client_secret=SECRET))
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.RUNNING, source.status.detail
        first = vault.load_grant()
        assert first is not None
        vault.save_token(first.token.model_copy(update={"expires_in": 0}))  # tether's clock: expired
        async with running(remote(vault)) as source:  # a new process: loads the grant from the vault
            assert source.status.state is SourceState.RUNNING, source.status.detail
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("whoami", {})).text == "robot"
        second = vault.load_grant()
        assert second is not None
        assert second.token.access_token != first.token.access_token
        assert server.authority.client_credentials_count == 2


async def test_a_wrong_secret_is_an_error_that_says_to_check_the_client(settings: Settings) -> None:
    async with serve_tasks() as server:
        server.authority.register_service_client("robot", SECRET)
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        vault.save_client(machine_client("robot", client_secret="not-the-secret"))
        async with running(remote(vault)) as source:
            await wait_for(source, SourceState.FAILED)
            assert source.last_error is not None
            assert source.last_error.code == "client_credentials_refused"
            assert "tether connector edit tasks" in source.status.detail
            assert "not-the-secret" not in source.status.detail
        assert vault.load_grant() is None
        assert vault.load_client() is not None  # the user's client is kept to be fixed


async def test_a_client_not_allowed_the_grant_is_refused_with_the_same_advice(settings: Settings) -> None:
    async with serve_tasks() as server:
        # a client registered for the code flow (DCR) has no service user
        from mcp.shared.auth import OAuthClientInformationFull

        await server.authority.register_client(
            OAuthClientInformationFull(
                client_id="person-app", client_secret=SECRET, token_endpoint_auth_method="client_secret_basic"
            )
        )
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        vault.save_client(machine_client("person-app", client_secret=SECRET))
        async with running(remote(vault)) as source:
            await wait_for(source, SourceState.FAILED)
            assert source.last_error is not None
            assert source.last_error.code == "client_credentials_refused"


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_a_client_assertion_is_signed_by_the_key_for_the_issuer(alg: str) -> None:
    key = rsa.generate_private_key(65537, 2048) if alg == "RS256" else ec.generate_private_key(ec.SECP256R1())
    client = machine_client("robot", private_key_pem=_pem(key))
    assert client.signing_alg == alg
    assertion = sign_assertion(client, "https://auth.example.com")
    head, body, signature = assertion.split(".")
    assert json.loads(_part(head)) == {"alg": alg, "typ": "JWT"}
    claims = json.loads(_part(body))
    assert claims["iss"] == claims["sub"] == "robot"
    assert claims["aud"] == "https://auth.example.com"
    assert claims["exp"] > claims["iat"]
    assert claims["jti"] != json.loads(_part(sign_assertion(client, "x").split(".")[1]))["jti"]
    signed = f"{head}.{body}".encode()
    raw = _part(signature)
    if isinstance(key, rsa.RSAPrivateKey):
        key.public_key().verify(raw, signed, padding.PKCS1v15(), hashes.SHA256())
    else:
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key.public_key().verify(der, signed, ec.ECDSA(hashes.SHA256()))


def test_bad_client_credentials_settings_are_refused_before_anything_is_stored() -> None:
    ec_key = _pem(ec.generate_private_key(ec.SECP256R1()))
    for options, wrong in [
        ({"client_secret": "s", "private_key_pem": ec_key}, "one of them"),
        ({}, "one of them"),
        ({"private_key_pem": "not a key"}, "PEM private key"),
        ({"private_key_pem": ec_key, "signing_alg": "RS256"}, "does not fit this key"),
        ({"private_key_pem": _pem(ec.generate_private_key(ec.SECP384R1()))}, "P-256"),
        ({"client_secret": "s", "signing_alg": "ES256"}, "--private-key-file"),
    ]:
        with pytest.raises(UsageError) as refused:
            machine_client("robot", **options)  # pyright: ignore[reportArgumentType]
        assert wrong in str(refused.value), options
    with pytest.raises(UsageError):
        machine_client(" ", client_secret="s")


async def test_the_cli_adds_a_machine_connector_that_connects_and_keeps_its_secret_out_of_files(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    key_file = tmp_path / "robot.pem"
    key_pem = _pem(ec.generate_private_key(ec.SECP256R1()))
    key_file.write_text(key_pem)
    async with serve_tasks() as server:
        server.authority.register_service_client("robot", SECRET)
        code, out, err = await tether(
            home, "connector", "add", "bad", server.mcp_url, "--client-credentials", "--client-id", "robot"
        )
        assert code == 2, out + err
        assert "--client-secret" in err
        code, out, err = await tether(
            home, "connector", "add", "bad", server.mcp_url, "--private-key-file", str(key_file)
        )
        assert code == 2, out + err
        code, out, err = await tether(home, "connector", "list")
        assert "bad" not in out  # nothing half-added

        code, out, err = await tether(
            home,
            "connector",
            "add",
            "tasks",
            server.mcp_url,
            "--client-credentials",
            "--client-id",
            "robot",
            "--client-secret",
            "wrong-secret-77",
        )
        assert code == 0, err
        assert "error" in out
        assert "tether connector edit tasks" in out
        code, out, err = await tether(home, "connector", "edit", "tasks", "--client-secret", SECRET)
        assert code == 0, err
        assert "changed oauth client" in out
        code, out, err = await tether(home, "connector", "test", "tasks")
        assert code == 0, out + err
        assert "connected" in out
        code, _, err = await tether(home, "policy", "set", "tasks__whoami", "allow")
        assert code == 0, err
        code, out, err = await tether(home, "call", "tasks__whoami", "--no-prompt")
        assert code == 0, err
        assert "robot" in out
        asked = server.authority.client_credentials_count
        code, out, err = await tether(home, "connector", "login", "tasks")  # asks at once, no browser
        assert code == 0, err
        assert "signed in" in out
        assert "Open this page" not in out
        assert server.authority.client_credentials_count > asked
        # a key instead of the secret: kept in the secret store too (the tasks server only takes secrets)
        code, out, err = await tether(home, "connector", "edit", "tasks", "--private-key-file", str(key_file))
        assert code == 0, err
        assert "changed oauth client" in out
    body = "".join(key_pem.splitlines()[1:-1])[:40]
    for path in [p for p in home.rglob("*") if p.is_file()]:
        data = path.read_bytes()
        for secret in (SECRET, "wrong-secret-77", body):
            assert secret.encode() not in data, path
    assert (home / "secrets.enc").exists()


async def test_the_credentials_only_go_to_the_issuer_that_first_accepted_them(settings: Settings) -> None:
    async with serve_tasks() as server, serve_tasks() as elsewhere:
        server.authority.register_service_client("robot", SECRET)
        elsewhere.authority.register_service_client("robot", SECRET)
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        vault.save_client(machine_client("robot", client_secret=SECRET))
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.RUNNING, source.status.detail
        stored = vault.load_client()
        assert stored is not None
        assert stored.info.issuer is not None
        assert stored.info.issuer.rstrip("/") == server.base_url

        server.quirks.authorization_server = elsewhere.base_url  # the server now points elsewhere
        vault.forget_grant()
        async with running(remote(vault)) as source:
            await wait_for(source, SourceState.FAILED)
            assert source.last_error is not None
            assert source.last_error.code == "issuer_mismatch"
        assert elsewhere.authority.client_credentials_count == 0


async def test_a_new_client_id_alone_keeps_the_secret_bound_to_its_issuer_and_a_new_url_unbinds_it(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    async with serve_tasks() as server, serve_tasks() as elsewhere:
        for authority in (server.authority, elsewhere.authority):
            authority.register_service_client("robot", SECRET)
            authority.register_service_client("robot-2", SECRET)
        code, out, err = await tether(
            home,
            "connector",
            "add",
            "tasks",
            server.mcp_url,
            "--client-credentials",
            "--client-id",
            "robot",
            "--client-secret",
            SECRET,
        )
        assert code == 0, out + err
        vault = vault_for(home, "tasks", server.mcp_url)
        bound = vault.load_client()
        assert bound is not None
        assert bound.info.issuer is not None

        code, out, err = await tether(home, "connector", "edit", "tasks", "--client-id", "robot-2")
        assert code == 0, out + err
        stored = vault.load_client()
        assert stored is not None
        assert stored.info.client_id == "robot-2"
        assert stored.info.issuer == bound.info.issuer  # the same secret: still bound

        server.quirks.authorization_server = elsewhere.base_url  # the server now points elsewhere
        code, out, err = await tether(home, "connector", "test", "tasks")
        assert code != 0, out + err
        assert elsewhere.authority.client_credentials_count == 0

        code, out, err = await tether(home, "connector", "edit", "tasks", "--url", elsewhere.mcp_url)
        assert code == 0, out + err
        moved = vault.load_client()
        assert moved is not None
        assert moved.info.client_id == "robot-2"
        assert moved.info.issuer is None  # a new URL unbinds it
