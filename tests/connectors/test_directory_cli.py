"""``tether directory``, ``connector add --from-directory`` and ``ext install|update|outdated`` with
the directory, as a user runs them: real processes against a registry stand-in and the tasks
server, both on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.connectors.registry_server import Registry, record, serve_registry
from tests.connectors.servers import serve_tasks
from tests.extensions.ext_servers import manifest, python_extension
from tether.extensions.pack import pack_bundle

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]

WEATHER = "io.github.acme/weather"


async def tether(home: Path, registry: Registry | str, *args: str) -> tuple[int, str, str]:
    url = registry.base_url if isinstance(registry, Registry) else registry
    env = {
        **os.environ,
        "TETHER_HOME": str(home),
        "TETHER_CONFIG": str(home / "tether.toml"),
        "TETHER_SECRETS_BACKEND": "file",
        "TETHER_DIRECTORY_REGISTRY_URL": url,
        "COLUMNS": "250",
        "NO_COLOR": "1",
    }
    with anyio.fail_after(120):
        done = await anyio.run_process([sys.executable, "-m", "tether", *args], env=env, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def publish_weather(registry: Registry, tmp_path: Path, version: str, *, sha256: str | None = None) -> None:
    """Pack the weather extension at ``version``, serve it, list it in the registry."""
    folder = python_extension(
        tmp_path / f"weather-{version}", manifest("weather", server_type="python", version=version)
    )
    url, real_sha = registry.host_bundle(f"weather-{version}.mcpb", pack_bundle(folder))
    registry.publish(
        record(WEATHER, version=version, description="Weather at your desk", bundle=(url, sha256 or real_sha))
    )


def loads(text: str) -> Any:
    return json.loads(text)


async def test_search_lists_curated_connectors_and_registry_extensions_each_marked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve_registry() as registry:
        publish_weather(registry, tmp_path, "1.0.0")
        registry.publish(
            record(
                "com.acme/forecast", description="Weather forecasts", remote="https://mcp.acme.example/mcp"
            )
        )

        code, out, err = await tether(home, registry, "directory", "search", "weather")
        assert code == 0, err
        assert "extension (local)" in out
        assert "connector (remote)" in out
        assert WEATHER in out
        assert "registry" in out

        code, out, _ = await tether(home, registry, "directory", "search", "--json")
        found = loads(out)
        assert not found["offline"]
        origins = {entry["id"]: (entry["origin"], entry["kind"]) for entry in found["entries"]}
        assert origins["linear"] == ("curated", "connector")
        assert origins[WEATHER] == ("registry", "extension")

        code, out, _ = await tether(home, registry, "directory", "search", "--kind", "extension", "--json")
        assert [entry["id"] for entry in loads(out)["entries"]] == [WEATHER]

        code, out, _ = await tether(home, registry, "directory", "search", "--category", "Design", "--json")
        assert {entry["id"] for entry in loads(out)["entries"]} == {"canva", "figma"}
        code, _, err = await tether(home, registry, "directory", "search", "--category", "Gardening")
        assert code == 2
        assert "Payments" in err  # says which categories exist

        code, out, _ = await tether(home, registry, "directory", "show", WEATHER)
        assert code == 0
        assert "tether ext install --from-directory io.github.acme/weather" in out
        code, out, _ = await tether(home, registry, "directory", "show", "linear")
        assert "https://mcp.linear.app/mcp" in out
        code, _, err = await tether(home, registry, "directory", "show", "com.acme/nothing")
        assert code == 3

    assert {method for method, _ in registry.requests} == {"GET"}


async def test_offline_search_shows_the_curated_catalog_and_says_so(tmp_path: Path) -> None:
    from tests.conftest import NO_REGISTRY

    code, out, err = await tether(tmp_path / "home", NO_REGISTRY, "directory", "search", "notion")
    assert code == 0, err
    assert "offline" in out
    assert "curated catalog only" in out
    assert "notion" in out


async def test_an_extension_installs_from_the_directory_and_updates_when_a_newer_one_is_listed(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    async with serve_registry() as registry:
        publish_weather(registry, tmp_path, "1.0.0")
        code, out, err = await tether(
            home, registry, "ext", "install", "--from-directory", WEATHER, "--no-start"
        )
        assert code == 0, err
        assert "installed weather 1.0.0" in out

        code, out, err = await tether(home, registry, "ext", "outdated", "--json")
        assert code == 0, err
        assert loads(out) == []

        publish_weather(registry, tmp_path, "1.1.0")
        code, out, err = await tether(home, registry, "ext", "outdated", "--json")
        assert code == 0, err
        assert loads(out) == [
            {
                "id": "weather",
                "installed": "1.0.0",
                "available": "1.1.0",
                "directory_id": WEATHER,
                "bundle_url": f"{registry.base_url}/bundles/weather-1.1.0.mcpb",
            }
        ]
        code, out, _ = await tether(home, registry, "ext", "outdated")
        assert "1.1.0" in out

        code, out, err = await tether(home, registry, "ext", "update", "weather", "--from-directory")
        assert code == 0, err
        assert "updated 1.0.0 -> weather 1.1.0" in out
        code, out, _ = await tether(home, registry, "ext", "list", "--json")
        assert [(e["id"], e["version"]) for e in loads(out)] == [("weather", "1.1.0")]
        code, out, _ = await tether(home, registry, "ext", "outdated")
        assert "up to date" in out

        # Removed, then installed again from a file: no longer the directory's.
        await tether(home, registry, "ext", "remove", "weather")
        bundle = tmp_path / "weather.mcpb"
        bundle.write_bytes(registry.bundles["weather-1.0.0.mcpb"])
        code, _, err = await tether(home, registry, "ext", "install", str(bundle), "--no-start")
        assert code == 0, err
        code, out, _ = await tether(home, registry, "ext", "outdated", "--json")
        assert loads(out) == []


async def test_a_bundle_whose_hash_is_not_the_listed_one_is_not_installed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve_registry() as registry:
        publish_weather(registry, tmp_path, "1.0.0", sha256="0" * 64)
        code, out, err = await tether(home, registry, "ext", "install", "--from-directory", WEATHER)
        assert code == 2, out
        assert "sha256" in err
        assert "nothing was installed" in err
        code, out, _ = await tether(home, registry, "ext", "list", "--json")
        assert loads(out) == []
        assert not (home / "extensions" / "weather").exists()


async def test_unknown_and_mismatched_directory_ids_are_refused_clearly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve_registry() as registry:
        publish_weather(registry, tmp_path, "1.0.0")
        code, _, err = await tether(home, registry, "ext", "install", "--from-directory", "com.acme/nothing")
        assert code == 3
        assert "tether directory search" in err
        code, _, err = await tether(home, registry, "ext", "install", "--from-directory", "linear")
        assert code == 2
        assert "connector add --from-directory linear" in err
        code, _, err = await tether(home, registry, "ext", "install")
        assert code == 2
        code, _, err = await tether(home, registry, "ext", "update", "weather", "--from-directory")
        assert code == 3  # not installed
        code, _, err = await tether(home, registry, "connector", "add", "--from-directory", "nothing-here")
        assert code == 3
        code, _, err = await tether(home, registry, "connector", "add", "--from-directory", WEATHER)
        assert code == 2
        assert "ext install --from-directory" in err
        code, _, err = await tether(
            home,
            registry,
            "connector",
            "add",
            "--from-directory",
            "linear",
            "mine",
            "https://elsewhere.example/mcp",
        )
        assert code == 2
        assert "https://mcp.linear.app/mcp" in err
        code, out, _ = await tether(home, registry, "connector", "list")
        assert "no connectors yet" in out


async def test_a_connector_is_added_from_the_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve_tasks() as server, serve_registry() as registry:
        registry.publish(record("com.acme/Team-Tasks", title="Team tasks", remote=server.mcp_url))
        code, out, err = await tether(
            home, registry, "connector", "add", "--from-directory", "com.acme/Team-Tasks"
        )
        assert code == 0, err
        assert "added team-tasks" in out
        assert "needs sign-in" in out

        code, _, err = await tether(home, registry, "connector", "add", "--from-directory", "workato")
        assert code == 2
        assert "pass the URL you got from the vendor" in err
        code, out, err = await tether(
            home, registry, "connector", "add", "--from-directory", "workato", "my-workato", server.mcp_url
        )
        assert code == 0, err
        assert "added my-workato" in out

        code, out, _ = await tether(home, registry, "connector", "list")
        assert "team-tasks" in out
        assert "my-workato" in out
        assert out.count(server.mcp_url) == 2


async def test_registry_text_is_printed_as_typed_not_as_markup(tmp_path: Path) -> None:
    async with serve_registry() as registry:
        registry.publish(
            record(
                "com.acme/marked",
                description="[bold red]URGENT[/bold red] [link=https://evil.example]update[/link]",
                remote="https://mcp.acme.example/mcp",
            )
        )
        code, out, err = await tether(tmp_path / "home", registry, "directory", "search", "urgent")
        assert code == 0, err
        assert "[bold red]URGENT[/bold red]" in out
        code, out, err = await tether(tmp_path / "home", registry, "directory", "show", "com.acme/marked")
        assert code == 0, err
        assert "[link=https://evil.example]update[/link]" in out
