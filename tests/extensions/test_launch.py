"""From manifest and settings to command, args, env: substitution as the reference CLI does it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tether.errors import InvalidUserConfig
from tether.extensions.config_vars import SystemDirs, js_string, replace_variables
from tether.extensions.launch import LaunchContext, LaunchSpec, build_launch
from tether.extensions.manifest import validate_manifest
from tether.extensions.manifest_model import UserConfigType
from tether.extensions.user_values import parse_user_value, path_exists

from .bundle_samples import (
    minimal_manifest,
    node_manifest_v02,
    node_manifest_v03,
    python_manifest_v01,
    uv_manifest_v04,
)

HOME = "/home/ada"


def context(platform: str = "linux", members: tuple[str, ...] = (), **kwargs: Any) -> LaunchContext:
    separator = "\\" if platform == "win32" else "/"
    home = "C:\\Users\\ada" if platform == "win32" else HOME
    bundle_dir = "C:\\ext\\hello" if platform == "win32" else "/ext/hello"
    return LaunchContext(
        bundle_dir, SystemDirs.under_home(home, separator), platform, frozenset(members), **kwargs
    )


def launch(raw: Mapping[str, Any], values: Mapping[str, object] | None = None, **kwargs: Any) -> LaunchSpec:
    manifest, _ = validate_manifest(dict(raw))
    return build_launch(manifest, values or {}, context(**kwargs))


def config_manifest(
    args: list[str], env: dict[str, str] | None = None, **options: dict[str, Any]
) -> dict[str, Any]:
    raw = minimal_manifest(user_config=options)
    raw["server"]["mcp_config"] = {"command": "node", "args": args, "env": env or {}}
    return raw


def test_a_multiple_value_argument_becomes_several_arguments() -> None:
    spec = launch(node_manifest_v02(), {"allowed_directories": ["/data/a", "/data/b"]})
    assert spec.command == "node"
    assert spec.args == ("/ext/hello/server/index.js", "/data/a", "/data/b")
    assert spec.cwd == "/ext/hello"


def test_a_list_inside_a_longer_string_is_left_as_written() -> None:
    raw = config_manifest(
        ["--dirs=${user_config.dirs}"], dirs={"type": "directory", "title": "D", "multiple": True}
    )
    assert launch(raw, {"dirs": ["/a", "/b"]}).args == ("--dirs=${user_config.dirs}",)


def test_booleans_and_numbers_are_written_as_javascript_would() -> None:
    spec = launch(node_manifest_v03(), {"api_key": "k", "verbose_logging": True, "max_results": 25.0})
    assert spec.args[1:] == ("--verbose=true", "--max-results=25")
    assert spec.env == {"API_KEY": "k"}


def test_defaults_are_used_and_their_variables_expanded() -> None:
    spec = launch(python_manifest_v01())
    assert spec.args == ("/ext/hello/server/main.py", f"--workspace={HOME}/Documents")
    assert spec.env == {"DEBUG": "false", "PYTHONPATH": "/ext/hello/server/lib"}


def test_platform_override_replaces_env_as_a_whole() -> None:
    raw = config_manifest(["a"], {"BASE": "1", "SHARED": "base"})
    raw["server"]["mcp_config"]["platform_overrides"] = {"darwin": {"env": {"SHARED": "mac"}}}
    assert launch(raw, platform="darwin").env == {"SHARED": "mac"}
    assert launch(raw, platform="linux").env == {"BASE": "1", "SHARED": "base"}


def test_platform_override_replaces_command_and_args_but_keeps_what_it_omits() -> None:
    raw = config_manifest(["--base"], {"E": "1"})
    raw["server"]["mcp_config"]["platform_overrides"] = {"win32": {"command": "node.exe", "args": []}}
    spec = launch(raw, platform="win32")
    assert (spec.command, spec.args, spec.env) == ("node.exe", (), {"E": "1"})


def test_path_separator_and_system_dirs_follow_the_platform() -> None:
    raw = config_manifest(
        ["${__dirname}${/}x", "${pathSeparator}", "${DESKTOP}", "${DOWNLOADS}", "${DOCUMENTS}"]
    )
    assert launch(raw, platform="win32").args == (
        "C:\\ext\\hello\\x",
        "\\",
        "C:\\Users\\ada\\Desktop",
        "C:\\Users\\ada\\Downloads",
        "C:\\Users\\ada\\Documents",
    )
    assert launch(raw).args[0] == "/ext/hello/x"


def test_unknown_variables_and_unset_optional_settings_stay_as_written() -> None:
    raw = config_manifest(
        ["${user_config.token}", "--t=${user_config.token}", "${NOPE}"],
        token={"type": "string", "title": "T"},
    )
    assert launch(raw).args == ("${user_config.token}", "--t=${user_config.token}", "${NOPE}")


def test_an_empty_string_setting_is_substituted_inside_strings_only() -> None:
    raw = config_manifest(
        ["${user_config.token}", "--t=${user_config.token}"], token={"type": "string", "title": "T"}
    )
    assert launch(raw, {"token": ""}).args == ("${user_config.token}", "--t=")


def test_substituted_values_are_not_substituted_again() -> None:
    raw = config_manifest(["${user_config.text}"], text={"type": "string", "title": "T"})
    assert launch(raw, {"text": "${HOME} costs $$5"}).args == ("${HOME} costs $$5",)


def test_required_settings_must_be_given() -> None:
    with pytest.raises(InvalidUserConfig) as caught:
        launch(node_manifest_v02())
    assert caught.value.code == "invalid_user_config"
    assert [p.path for p in caught.value.problems] == ["user_config.allowed_directories"]


@pytest.mark.parametrize(
    ("option", "value", "path"),
    [
        ({"type": "number", "title": "N", "min": 1, "max": 10}, 11, "user_config.opt"),
        ({"type": "number", "title": "N", "min": 1}, 0, "user_config.opt"),
        ({"type": "number", "title": "N"}, "10", "user_config.opt"),
        ({"type": "number", "title": "N"}, True, "user_config.opt"),
        ({"type": "boolean", "title": "B"}, "true", "user_config.opt"),
        ({"type": "string", "title": "S"}, ["a", "b"], "user_config.opt"),
        ({"type": "directory", "title": "D"}, "relative/dir", "user_config.opt"),
        ({"type": "directory", "title": "D", "multiple": True}, ["/ok", 3], "user_config.opt[1]"),
    ],
)
def test_values_are_checked_against_the_schema(option: dict[str, Any], value: object, path: str) -> None:
    with pytest.raises(InvalidUserConfig) as caught:
        launch(config_manifest([], opt=option), {"opt": value})
    assert [p.path for p in caught.value.problems] == [path]


def test_settings_the_manifest_does_not_declare_are_refused() -> None:
    with pytest.raises(InvalidUserConfig) as caught:
        launch(minimal_manifest(), {"surprise": 1})
    assert caught.value.problems[0].path == "user_config.surprise"


def test_chosen_directories_and_files_must_exist(tmp_path: Any) -> None:
    (tmp_path / "f.txt").write_text("x")
    raw = config_manifest(
        [], d={"type": "directory", "title": "D", "multiple": True}, f={"type": "file", "title": "F"}
    )
    manifest, _ = validate_manifest(raw)
    good = {"d": [str(tmp_path)], "f": str(tmp_path / "f.txt")}
    build_launch(manifest, good, context(), exists=path_exists)
    bad = {"d": [str(tmp_path), str(tmp_path / "nope")], "f": str(tmp_path)}
    with pytest.raises(InvalidUserConfig) as caught:
        build_launch(manifest, bad, context(), exists=path_exists)
    assert [p.path for p in caught.value.problems] == ["user_config.d[1]", "user_config.f"]


def test_a_default_directory_is_the_authors_suggestion_and_not_checked() -> None:
    manifest, _ = validate_manifest(python_manifest_v01())
    spec = build_launch(manifest, {}, context(), exists=lambda path, kind: False)
    assert spec.args[1] == f"--workspace={HOME}/Documents"


def test_python_servers_get_bundled_lib_and_venv_on_pythonpath() -> None:
    members = (
        "server/main.py",
        "server/lib/pkg/__init__.py",
        "server/venv/lib/python3.11/site-packages/x.py",
    )
    spec = launch(python_manifest_v01(), members=members)
    assert spec.env["PYTHONPATH"] == (
        "/ext/hello/server/lib:/ext/hello/server/venv/lib/python3.11/site-packages"
    )
    windows = launch(python_manifest_v01(), members=("server/lib/a.py",), platform="win32")
    assert windows.env["PYTHONPATH"] == "C:\\ext\\hello/server/lib"  # as the manifest writes it


def test_bare_commands_can_be_mapped_to_executables() -> None:
    spec = launch(python_manifest_v01(), commands={"python": "/usr/bin/python3"})
    assert spec.command == "/usr/bin/python3"


def test_uv_servers_without_mcp_config_run_with_uv() -> None:
    spec = launch(uv_manifest_v04(), uv_project_environment="/data/hello/venv")
    assert spec.command == "uv"
    assert spec.args == ("run", "--project", "/ext/hello", "/ext/hello/src/server.py")
    assert spec.env == {"UV_PROJECT_ENVIRONMENT": "/data/hello/venv"}


def test_servers_without_mcp_config_run_their_entry_point() -> None:
    raw = minimal_manifest()
    del raw["server"]["mcp_config"]
    assert launch(raw) == LaunchSpec("node", ("/ext/hello/server/index.js",), {}, "/ext/hello")


def test_binary_commands_resolve_inside_the_bundle() -> None:
    raw = minimal_manifest()
    raw["server"] = {"type": "binary", "entry_point": "server/tool", "mcp_config": {"command": "server/tool"}}
    assert launch(raw).command == "/ext/hello/server/tool"
    windows = launch(raw, platform="win32", members=("server/tool.exe",))
    assert windows.command == "C:\\ext\\hello\\server\\tool.exe"


def test_launch_spec_converts_to_a_source_config() -> None:
    config = launch(minimal_manifest()).as_source_config("hello")
    assert (config.name, config.command, config.cwd) == ("hello", "node", "/ext/hello")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (10, "10"),
        (10.0, "10"),
        (1.5, "1.5"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (123456789012345680000.0, "123456789012345680000"),
        (-0.5, "-0.5"),
        ("s", "s"),
    ],
)
def test_js_string_matches_javascript(value: object, text: str) -> None:
    assert js_string(value) == text


def test_replace_variables_walks_lists_and_objects() -> None:
    value = {"args": ["${a}", ["${user_config.l}"]], "env": {"K": "${a}-${a}"}}
    variables = {"a": "1", "user_config.l": ("x", "y")}
    assert replace_variables(value, variables) == {"args": ["1", ["x", "y"]], "env": {"K": "1-1"}}


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("number", "10", 10),
        ("number", "2.5", 2.5),
        ("boolean", "yes", True),
        ("boolean", "off", False),
        ("string", " a ", "a"),
    ],
)
def test_parse_user_value_reads_typed_text(kind: str, text: str, value: object) -> None:
    manifest, _ = validate_manifest(minimal_manifest(user_config={"o": {"type": kind, "title": "O"}}))
    assert parse_user_value(manifest.user_config["o"], text) == value


def test_parse_user_value_refuses_nonsense() -> None:
    manifest, _ = validate_manifest(
        minimal_manifest(user_config={"o": {"type": "number", "title": "O", "max": 5}})
    )
    option = manifest.user_config["o"]
    assert option.type is UserConfigType.NUMBER
    for text in ("ten", "6"):
        with pytest.raises(InvalidUserConfig):
            parse_user_value(option, text)
