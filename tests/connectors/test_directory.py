"""The directory: the curated catalog, the MCP Registry (a stand-in on 127.0.0.1), the cache and
what happens when the registry is down or answers garbage."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.connectors.registry_server import OFFICIAL, Mode, Registry, record, serve_registry
from tether.connectors.directory import Directory, SearchResult, curated
from tether.connectors.entries import (
    AUTH_KINDS,
    CATEGORIES,
    TRANSPORTS,
    entry_from_record,
    parse_catalog,
    suggested_name,
)
from tether.connectors.registry import MAX_PAGES
from tether.errors import UnknownDirectoryEntry

pytestmark = pytest.mark.anyio

WAIT_S = 20.0
VENDORS = {
    "asana", "atlassian", "cloudflare-docs", "github", "hugging-face", "intercom", "linear", "notion",
    "paypal", "plaid", "sentry", "square", "stripe", "workato", "zapier",
}  # fmt: skip


def directory(registry: Registry | str | None, cache: Path, *, ttl_s: float = 3600.0) -> Directory:
    url = registry.base_url if isinstance(registry, Registry) else registry
    return Directory(registry_url=url, cache_dir=cache, cache_ttl_s=ttl_s)


async def search(found: Directory, text: str = "", **options: Any) -> SearchResult:
    with anyio.fail_after(WAIT_S):
        return await found.search(text, **options)


# -- the curated catalog ----------------------------------------------------------------------


def test_the_curated_catalog_ships_in_the_package_and_keeps_its_rules() -> None:
    raw = json.loads(resources.files("tether.connectors").joinpath("catalog.json").read_text())
    entries = curated()
    assert len(entries) == len(raw["entries"]) >= 20
    ids = [entry.id for entry in entries]
    assert len(ids) == len(set(ids))
    assert set(ids) >= VENDORS
    for entry in entries:
        assert entry.kind == "connector"
        assert entry.origin == "curated"
        assert entry.category in CATEGORIES
        assert entry.auth in AUTH_KINDS
        assert entry.transport in TRANSPORTS
        assert entry.docs_url is not None
        assert entry.docs_url.startswith("https://")
        assert entry.url is None or entry.url.startswith("https://")
        assert entry.url is not None or entry.note  # a per-user URL says where to get it
    assert Directory(registry_url=None, cache_dir=Path("unused")).categories() == sorted(
        {entry.category for entry in entries}
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"url": "http://mcp.example.com/mcp"}, "https"),
        ({"category": "Gardening"}, "category"),
        ({"auth": "password"}, "auth"),
        ({"transport": "websocket"}, "transport"),
        ({"id": "Not An Id"}, "lowercase"),
        ({"url": None}, "note"),
        ({"name": ""}, "name"),
    ],
)
def test_a_catalog_entry_that_breaks_a_rule_is_refused(change: dict[str, Any], problem: str) -> None:
    good = {
        "id": "acme",
        "name": "Acme",
        "description": "Anvils",
        "category": "Payments",
        "url": "https://mcp.acme.example/mcp",
        "transport": "streamable-http",
        "auth": "oauth",
        "docs_url": "https://acme.example/docs",
    }
    assert parse_catalog({"entries": [good]})[0].id == "acme"
    with pytest.raises(ValueError, match=problem):
        parse_catalog({"entries": [{**good, **change}]})
    with pytest.raises(ValueError, match="unique"):
        parse_catalog({"entries": [good, good]})


# -- registry records -------------------------------------------------------------------------


def test_registry_records_become_entries_only_when_tether_can_use_them() -> None:
    sha = "ab" * 32
    remote = entry_from_record(record("com.acme/tasks", remote="https://mcp.acme.example/mcp", title="Acme"))
    assert remote is not None
    assert (remote.kind, remote.origin, remote.name, remote.url) == (
        "connector",
        "registry",
        "Acme",
        "https://mcp.acme.example/mcp",
    )
    bundle = entry_from_record(
        record("io.github.acme/notes", version="2.1.0", bundle=("https://acme.example/notes.mcpb", sha))
    )
    assert bundle is not None
    assert (bundle.kind, bundle.bundle_sha256, bundle.version) == ("extension", sha, "2.1.0")
    template = entry_from_record(record("com.acme/tenant", remote="https://{tenant}.acme.example/mcp"))
    assert template is not None
    assert template.url is None
    assert template.note is not None
    assert "template" in template.note

    npm_only = [{"registryType": "npm", "identifier": "@acme/x", "transport": {"type": "stdio"}}]
    unusable: list[object] = [
        record("com.acme/npm", packages=npm_only),  # tether cannot run npm packages
        record("com.acme/plain", remote="http://mcp.acme.example/mcp"),  # plain http off this machine
        record("com.acme/nohash", bundle=("https://acme.example/x.mcpb", "not-a-hash")),
        record("com.acme/old", remote="https://mcp.acme.example/mcp", is_latest=False),
        record("com.acme/gone", remote="https://mcp.acme.example/mcp", status="deleted"),
        {"server": {"name": "no slash", "remotes": [{"type": "sse", "url": "https://a.example"}]}},
        "not an object",
        {"_meta": {}},
    ]
    assert [entry_from_record(r) for r in unusable] == [None] * len(unusable)


# -- searching ------------------------------------------------------------------------------


def test_registry_text_loses_its_control_characters_and_urls_with_them_are_refused() -> None:
    osc52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # a terminal escape that would set the clipboard
    raw = record(
        "io.github.acme/tricky",
        title=f"Tricky{osc52}",
        description=f"line one\nline two {osc52}\x9b2J",
        remote="https://mcp.acme.example/mcp",
    )
    entry = entry_from_record(raw)
    assert entry is not None
    assert entry.name == "Tricky ]52;c;cm0gLXJmIH4="
    assert entry.description == "line one line two  ]52;c;cm0gLXJmIH4= 2J"
    escaped_url = record("io.github.acme/sly", remote=f"https://mcp.acme.example/{osc52}")
    assert entry_from_record(escaped_url) is None


async def test_a_search_shows_curated_entries_first_then_the_registry_each_marked(tmp_path: Path) -> None:
    async with serve_registry() as registry:
        sha = "cd" * 32
        registry.publish(record("io.github.acme/pay-notes", description="Notes on payments", bundle=(
            f"{registry.base_url}/bundles/notes.mcpb", sha)))  # fmt: skip
        registry.publish(record("com.acme/payroll", remote="https://mcp.acme.example/mcp"))
        registry.publish(record("com.acme/weather", remote="https://weather.acme.example/mcp"))
        registry.publish(record("com.acme/pay-npm", packages=[{"registryType": "npm", "identifier": "x"}]))
        # The registry's copy of a curated server is shown once, as the curated entry.
        registry.publish(
            record("com.stripe/mcp", description="pay with Stripe", remote="https://mcp.stripe.com/")
        )

        result = await search(directory(registry, tmp_path), "pay")

    assert not result.offline
    assert result.note is None
    ids = [entry.id for entry in result.entries]
    assert ids[:4] == ["paypal", "plaid", "square", "stripe"]  # curated, in id order
    assert ids[4:] == ["io.github.acme/pay-notes", "com.acme/payroll"]
    kinds = {entry.id: (entry.kind, entry.origin) for entry in result.entries}
    assert kinds["io.github.acme/pay-notes"] == ("extension", "registry")
    assert kinds["com.acme/payroll"] == ("connector", "registry")
    assert kinds["stripe"] == ("connector", "curated")
    assert ("GET", "/v0.1/servers?limit=46&version=latest&search=pay") in registry.requests


async def test_kind_and_category_narrow_the_results(tmp_path: Path) -> None:
    async with serve_registry() as registry:
        registry.publish(record("com.acme/notes", bundle=(f"{registry.base_url}/bundles/n.mcpb", "ef" * 32)))
        registry.publish(record("com.acme/tasks", remote="https://tasks.acme.example/mcp"))
        found = directory(registry, tmp_path)
        extensions = await search(found, kind="extension")
        payments = await search(found, category="payments")

    assert [entry.id for entry in extensions.entries] == ["com.acme/notes"]
    assert {entry.id for entry in payments.entries} == {"paypal", "plaid", "square", "stripe"}


async def test_registry_pages_are_followed_and_bounded(tmp_path: Path) -> None:
    async with serve_registry() as registry:
        registry.page_size_max = 3
        for number in range(7):
            registry.publish(record(f"com.acme/tool-{number}", remote=f"https://t{number}.acme.example/mcp"))
        everything = await search(directory(registry, tmp_path / "a"), "tool-")
        assert [e.id for e in everything.entries] == [f"com.acme/tool-{n}" for n in range(7)]
        assert len(registry.server_requests) == 3  # pages of 3, 3 and 1

        for number in range(7, 40):
            registry.publish(record(f"com.acme/tool-{number}", remote=f"https://t{number}.acme.example/mcp"))
        registry.requests.clear()
        bounded = await search(directory(registry, tmp_path / "b"), "tool-", limit=100)
        assert len(registry.server_requests) == MAX_PAGES
        assert len(bounded.entries) == MAX_PAGES * 3

        registry.requests.clear()
        few = await search(directory(registry, tmp_path / "c"), "tool-", limit=2)
        assert len(few.entries) == 2
        assert len(registry.server_requests) == 1  # two results are on the first page

    assert all(method == "GET" for method, _ in registry.requests)


async def test_a_fresh_cache_answers_without_asking_the_registry(tmp_path: Path) -> None:
    async with serve_registry() as registry:
        registry.publish(record("com.acme/tasks", remote="https://tasks.acme.example/mcp"))
        await search(directory(registry, tmp_path), "tasks")
        asked = len(registry.server_requests)
        again = await search(directory(registry, tmp_path), "tasks")
        assert len(registry.server_requests) == asked
        assert [e.id for e in again.entries if e.origin == "registry"] == ["com.acme/tasks"]

        stale = await search(directory(registry, tmp_path, ttl_s=0), "tasks")
        assert len(registry.server_requests) == asked + 1
        assert not stale.offline


async def test_offline_the_cached_registry_results_are_shown_with_a_note(tmp_path: Path) -> None:
    async with serve_registry() as registry:
        registry.publish(record("com.acme/tasks", remote="https://tasks.acme.example/mcp"))
        online = await search(directory(registry, tmp_path), "tasks")
        url = registry.base_url
    assert not online.offline

    offline = await search(directory(url, tmp_path, ttl_s=0), "tasks")  # the server is gone now
    assert offline.offline
    assert [e.id for e in offline.entries if e.origin == "registry"] == ["com.acme/tasks"]
    assert offline.note is not None
    assert "cached" in offline.note
    assert url in offline.note


async def test_offline_without_a_cache_only_the_curated_catalog_is_shown(tmp_path: Path) -> None:
    from tests.conftest import NO_REGISTRY

    result = await search(directory(NO_REGISTRY, tmp_path), "linear")
    assert result.offline
    assert [e.id for e in result.entries] == ["linear"]
    assert result.note is not None
    assert "curated catalog only" in result.note


async def test_with_the_registry_turned_off_the_curated_catalog_is_shown(tmp_path: Path) -> None:
    result = await search(directory(None, tmp_path))
    assert not result.offline
    assert len(result.entries) == len(curated())
    assert result.note is not None
    assert "turned off" in result.note
    with pytest.raises(UnknownDirectoryEntry):
        await directory(None, tmp_path).get("io.github.acme/notes")


@pytest.mark.parametrize("mode", ["error", "not-json", "no-servers"])
async def test_a_broken_registry_gives_a_note_not_a_crash(tmp_path: Path, mode: Mode) -> None:
    async with serve_registry() as registry:
        registry.mode = mode
        result = await search(directory(registry, tmp_path), "notion")
        with pytest.raises(UnknownDirectoryEntry) as unknown:
            await directory(registry, tmp_path).get("com.acme/tasks")
    assert result.offline
    assert [e.id for e in result.entries] == ["notion"]
    assert result.note is not None
    assert {"error": "500", "not-json": "not JSON", "no-servers": "'servers'"}[mode] in result.note
    assert unknown.value.code == "unknown_directory_entry"


async def test_garbage_records_in_a_good_answer_are_skipped(tmp_path: Path) -> None:
    async with serve_registry() as registry:
        registry.publish(record("com.acme/tasks", remote="https://tasks.acme.example/mcp"))
        registry.records.extend(
            [
                {"server": "nonsense", "_meta": {OFFICIAL: {"isLatest": True}}},
                {"server": {"name": 42}, "_meta": {OFFICIAL: {"isLatest": True}}},
            ]
        )  # fmt: skip
        result = await search(directory(registry, tmp_path))
    assert not result.offline
    assert [e.id for e in result.entries if e.origin == "registry"] == ["com.acme/tasks"]


# -- one entry ----------------------------------------------------------------------------------


async def test_get_finds_curated_and_registry_entries_and_falls_back_on_the_cache(tmp_path: Path) -> None:
    async with serve_registry() as registry:
        registry.publish(record("io.github.acme/notes", version="1.0.0", bundle=(
            f"{registry.base_url}/bundles/n.mcpb", "12" * 32)))  # fmt: skip
        found = directory(registry, tmp_path)
        with anyio.fail_after(WAIT_S):
            assert (await found.get("linear")).url == "https://mcp.linear.app/mcp"
            notes = await found.get("io.github.acme/notes")
            assert (notes.kind, notes.version) == ("extension", "1.0.0")
            registry.publish(record("io.github.acme/notes", version="1.1.0", bundle=(
                f"{registry.base_url}/bundles/n2.mcpb", "34" * 32)))  # fmt: skip
            assert (await found.get("io.github.acme/notes")).version == "1.1.0"  # asked again, not cached
            with pytest.raises(UnknownDirectoryEntry):
                await found.get("io.github.acme/missing")
        url = registry.base_url
    with anyio.fail_after(WAIT_S):
        cached = await directory(url, tmp_path).get("io.github.acme/notes")
        assert cached.version == "1.1.0"
        with pytest.raises(UnknownDirectoryEntry) as unknown:
            await directory(url, tmp_path).get("io.github.acme/missing")
    assert "cache" in unknown.value.message


def test_tests_never_ask_the_public_registry() -> None:
    from tests.conftest import NO_REGISTRY
    from tether.app import open_directory
    from tether.config import load_settings

    assert load_settings({"TETHER_HOME": "/nonexistent"}).directory_registry_url == NO_REGISTRY
    assert load_settings().directory_registry_url == NO_REGISTRY  # what tether processes see
    assert open_directory(load_settings()).registry_url == NO_REGISTRY


def test_an_empty_registry_url_turns_the_registry_off(tmp_path: Path) -> None:
    from tether.app import open_directory
    from tether.config import load_settings

    (tmp_path / "tether.toml").write_text('directory_registry_url = ""\n')
    settings = load_settings({"TETHER_HOME": str(tmp_path), "TETHER_CONFIG": str(tmp_path / "tether.toml")})
    assert open_directory(settings).registry_url is None


def test_an_entry_suggests_a_valid_source_name() -> None:
    assert suggested_name("linear") == "linear"
    assert suggested_name("io.github.acme/Weather--Now") == "weather-now"
    assert suggested_name("io.github.acme/" + "x" * 80) == "x" * 40
    assert suggested_name("io.github.acme/…") == "connector"
