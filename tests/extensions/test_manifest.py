"""manifest.json: every published version reads, unknown fields warn, errors name the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tether.errors import InvalidManifest
from tether.extensions.manifest import validate_manifest
from tether.extensions.manifest_model import ServerType, UserConfigType

from .bundle_samples import (
    dxt_manifest,
    minimal_manifest,
    node_manifest_v02,
    node_manifest_v03,
    python_manifest_v01,
    uv_manifest_v04,
)


def problems_of(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidManifest) as caught:
        validate_manifest(raw)
    assert caught.value.code == "invalid_manifest"
    return {p.path: p.message for p in caught.value.problems}


@pytest.mark.parametrize(
    ("raw", "version"),
    [
        (python_manifest_v01(), "0.1"),
        (node_manifest_v02(), "0.2"),
        (node_manifest_v03(), "0.3"),
        (uv_manifest_v04(), "0.4"),
        (dxt_manifest(), "0.1"),
    ],
    ids=["0.1-python", "0.2-node", "0.3-node-full", "0.4-uv", "dxt_version"],
)
def test_every_published_manifest_version_is_accepted(raw: dict[str, Any], version: str) -> None:
    manifest, _ = validate_manifest(raw)
    assert manifest.manifest_version == version
    assert manifest.raw == raw


def test_the_full_0_3_manifest_is_modelled_field_by_field() -> None:
    manifest, warnings = validate_manifest(node_manifest_v03())
    assert warnings == []
    assert manifest.title == "Hello World MCP Server (Reference Extension)"
    assert manifest.author.email == "support@acme.void"
    assert manifest.repository is not None
    assert manifest.repository.url.endswith("my-repo")
    assert [icon.size for icon in manifest.icons] == ["16x16", "128x128"]
    assert manifest.localization is not None
    assert manifest.localization.default_locale == "en-US"
    assert manifest.tools_generated
    assert not manifest.prompts_generated
    assert manifest.prompts[0].arguments == ("topic",)
    assert manifest.compatibility.runtimes == {"node": ">=16.0.0"}
    assert manifest.compatibility.claude_desktop == ">=0.10.0"
    assert manifest.user_config["max_results"].type is UserConfigType.NUMBER
    assert manifest.user_config["max_results"].max == 100
    assert manifest.user_config["api_key"].sensitive
    config = manifest.server.mcp_config
    assert config is not None
    assert config.platform_overrides["win32"].env == {"API_KEY": "${user_config.api_key}", "WIN": "1"}
    assert "com.microsoft.windows" in manifest.meta


def test_uv_server_needs_no_mcp_config() -> None:
    manifest, warnings = validate_manifest(uv_manifest_v04())
    assert manifest.server.type is ServerType.UV
    assert manifest.server.mcp_config is None
    assert warnings == []


def test_dxt_version_is_read_but_called_deprecated() -> None:
    manifest, warnings = validate_manifest(dxt_manifest())
    assert manifest.manifest_version == "0.1"
    assert any("dxt_version" in w and "deprecated" in w for w in warnings)


def test_unknown_fields_are_warnings_not_failures() -> None:
    raw: dict[str, Any] = dxt_manifest() | {"id": "anthropic.demo"}
    raw["author"] = {"name": "A", "twitter": "@a"}
    raw["server"]["mcp_config"]["cwd"] = "/tmp"
    _, warnings = validate_manifest(raw)
    assert "`scripts`: unknown field, ignored" in warnings
    assert "`id`: unknown field, ignored" in warnings
    assert "`author.twitter`: unknown field, ignored" in warnings
    assert "`server.mcp_config.cwd`: unknown field, ignored" in warnings


def test_fields_from_a_later_version_are_accepted_with_a_warning() -> None:
    raw = minimal_manifest("0.1", privacy_policies=[], icons=[{"src": "i.png", "size": "16x16"}])
    manifest, warnings = validate_manifest(raw)
    assert manifest.icons[0].src == "i.png"
    assert any(w.startswith("`privacy_policies`: added in manifest_version 0.2") for w in warnings)
    assert any(w.startswith("`icons`: added in manifest_version 0.3") for w in warnings)


def test_uv_in_an_older_manifest_version_warns() -> None:
    raw = uv_manifest_v04() | {"manifest_version": "0.3"}
    _, warnings = validate_manifest(raw)
    assert any(w.startswith("`server.type`") for w in warnings)


@pytest.mark.parametrize("version", ["0.5", "1.0", 0.3, ""])
def test_unknown_manifest_version_is_an_error(version: object) -> None:
    assert "manifest_version" in problems_of(minimal_manifest() | {"manifest_version": version})


def test_missing_manifest_version_is_an_error() -> None:
    raw = minimal_manifest()
    del raw["manifest_version"]
    assert problems_of(raw)["manifest_version"].startswith("required")


def test_user_config_type_error_names_the_field_path() -> None:
    raw = minimal_manifest(user_config={"api_key": {"type": "password", "title": "Key", "description": ""}})
    problems = problems_of(raw)
    assert problems["user_config.api_key.type"] == "must be one of string, number, boolean, directory, file"
    with pytest.raises(InvalidManifest) as caught:
        validate_manifest(raw)
    assert "`user_config.api_key.type`: must be one of string, number, boolean, directory, file" in str(
        caught.value
    )


def test_every_error_is_reported_at_once() -> None:
    raw = minimal_manifest(name=3, tools=[{"description": "no name"}], keywords="a,b")
    del raw["author"]
    raw["server"]["type"] = "deno"
    problems = problems_of(raw)
    assert set(problems) >= {"name", "author", "server.type", "tools[0].name", "keywords"}


Change = Callable[[dict[str, Any]], object]
CHANGES: list[tuple[Change, str]] = [
    (lambda m: m["server"].update(entry_point="../escape.js"), "server.entry_point"),
    (lambda m: m["server"].update(entry_point="/abs/index.js"), "server.entry_point"),
    (lambda m: m["server"].pop("entry_point"), "server.entry_point"),
    (lambda m: m["server"]["mcp_config"].pop("command"), "server.mcp_config.command"),
    (lambda m: m["server"]["mcp_config"].update(args="--flag"), "server.mcp_config.args"),
    (lambda m: m["server"]["mcp_config"].update(env={"N": 1}), "server.mcp_config.env.N"),
    (lambda m: m.update(version="../../1.0"), "version"),
    (lambda m: m.update(tools_generated="yes"), "tools_generated"),
    (lambda m: m.update(prompts=[{"name": "p"}]), "prompts[0].text"),
    (lambda m: m.update(author={"email": "a@b.c"}), "author.name"),
    (lambda m: m.update(compatibility="linux"), "compatibility"),
]


@pytest.mark.parametrize(("change", "path"), CHANGES)
def test_bad_fields_are_errors_naming_their_path(change: Change, path: str) -> None:
    raw = minimal_manifest()
    change(raw)
    assert path in problems_of(raw)


@pytest.mark.parametrize(
    ("option", "path"),
    [
        ({"type": "number", "title": "N", "default": "10"}, "user_config.opt.default"),
        ({"type": "boolean", "title": "B", "default": "false"}, "user_config.opt.default"),
        ({"type": "number", "title": "N", "min": 5, "max": 1}, "user_config.opt"),
        ({"type": "number", "title": "N", "min": "1"}, "user_config.opt.min"),
        ({"type": "string", "title": "S", "required": "yes"}, "user_config.opt.required"),
        ({"title": "no type"}, "user_config.opt.type"),
    ],
)
def test_bad_user_config_options_are_errors(option: dict[str, Any], path: str) -> None:
    assert path in problems_of(minimal_manifest(user_config={"opt": option}))


def test_a_user_config_option_without_title_shows_its_key() -> None:
    manifest, warnings = validate_manifest(minimal_manifest(user_config={"token": {"type": "string"}}))
    assert manifest.user_config["token"].title == "token"
    assert any(w.startswith("`user_config.token.title`") for w in warnings)


def test_informational_fields_in_a_bad_format_are_dropped_with_a_warning() -> None:
    raw = minimal_manifest(
        "0.3",
        homepage="not a url",
        icon="${__dirname}/icon.png",
        icons=[{"src": "a.png", "size": "big"}],
        localization={"resources": "strings.json", "default_locale": "english!"},
        compatibility={"platforms": ["darwin", "beos"], "runtimes": {"node": "a lot", "deno": ">=1"}},
    )
    manifest, warnings = validate_manifest(raw)
    assert manifest.homepage is None
    assert manifest.icon is None
    assert manifest.icons == ()
    assert manifest.localization is not None
    assert manifest.localization.resources == "mcpb-resources/${locale}.json"
    assert manifest.compatibility.platforms == ("darwin",)
    assert manifest.compatibility.runtimes == {}
    assert len(warnings) == 8


def test_other_clients_in_compatibility_are_version_ranges() -> None:
    raw = minimal_manifest(compatibility={"claude_desktop": ">=0.10.0", "tether": "^0.1.0"})
    manifest, warnings = validate_manifest(raw)
    assert manifest.compatibility.clients == {"claude_desktop": ">=0.10.0", "tether": "^0.1.0"}
    assert warnings == []


def test_missing_mcp_config_for_a_node_server_warns_and_is_defaulted_later() -> None:
    raw = minimal_manifest()
    del raw["server"]["mcp_config"]
    manifest, warnings = validate_manifest(raw)
    assert manifest.server.mcp_config is None
    assert warnings == ["`server.mcp_config`: missing; tether runs the entry point as a node server"]


def test_platform_override_for_an_unknown_platform_warns() -> None:
    raw = minimal_manifest()
    raw["server"]["mcp_config"]["platform_overrides"] = {"macos": {"command": "x"}}
    _, warnings = validate_manifest(raw)
    assert any("platform_overrides.macos" in w for w in warnings)


@pytest.mark.parametrize("raw", [[], "manifest", None, 3])
def test_a_manifest_must_be_an_object(raw: object) -> None:
    assert "" in problems_of(raw)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("My MCP Extension", "my-mcp-extension"),
        ("Filesystem", "filesystem"),
        ("__", "extension"),
        ("a.b/c", "a-b-c"),
    ],
)
def test_slug_is_a_safe_source_name(name: str, slug: str) -> None:
    manifest, _ = validate_manifest(minimal_manifest(name=name))
    assert manifest.slug == slug
