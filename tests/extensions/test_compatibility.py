"""check_compatibility: platform, runtimes and clients, each problem with advice."""

from __future__ import annotations

from typing import Any

from tether.extensions.compatibility import check_compatibility, required_runtime
from tether.extensions.manifest import validate_manifest
from tether.extensions.manifest_model import Manifest

from .bundle_samples import minimal_manifest, uv_manifest_v04


def manifest_with(**fields: Any) -> Manifest:
    return validate_manifest(minimal_manifest(**fields))[0]


def test_node_too_old_says_what_to_install() -> None:
    manifest = manifest_with(compatibility={"runtimes": {"node": ">=22.0.0"}})
    (problem,) = check_compatibility(manifest, "linux", {"node": "v20.20.2"})
    assert problem.kind == "runtime"
    assert problem.message == "needs node >=22.0.0, this machine has 20.20.2: install Node 22 or newer"


def test_missing_node_explains_the_minimum_version() -> None:
    manifest = manifest_with(compatibility={"runtimes": {"node": ">=16.0.0"}})
    (problem,) = check_compatibility(manifest, "linux", {"node": None})
    assert (
        problem.message
        == "needs node >=16.0.0, but node was not found on this machine: install Node 16 or newer"
    )


def test_a_node_server_needs_node_even_without_a_declared_range() -> None:
    (problem,) = check_compatibility(manifest_with(), "linux", {"node": None})
    assert problem.message == "needs node, but node was not found on this machine: install Node"


def test_a_range_with_an_upper_bound_asks_for_a_matching_version() -> None:
    manifest = manifest_with(compatibility={"runtimes": {"python": ">=3.8.0 <3.11"}})
    (problem,) = check_compatibility(manifest, "linux", {"node": "20.1.0", "python": "3.11.7"})
    assert problem.message.endswith("install a Python version matching >=3.8.0 <3.11")


def test_satisfied_runtimes_raise_nothing() -> None:
    manifest = manifest_with(compatibility={"runtimes": {"node": "^20 || ^22", "python": ">=3.8"}})
    assert check_compatibility(manifest, "linux", {"python": "3.11.7", "node": "20.x"}) == []


def test_runtimes_not_given_are_not_checked() -> None:
    manifest = manifest_with(compatibility={"runtimes": {"node": ">=99"}})
    assert check_compatibility(manifest, "linux") == []


def test_wrong_platform_names_the_platforms() -> None:
    manifest = manifest_with(compatibility={"platforms": ["darwin", "win32"]})
    (problem,) = check_compatibility(manifest, "linux")
    assert problem.kind == "platform"
    assert problem.message == "hello runs on macOS, Windows only; this machine runs Linux"


def test_uv_servers_need_uv_not_the_system_python() -> None:
    manifest = validate_manifest(uv_manifest_v04())[0]
    assert required_runtime(manifest, "linux") == "uv"
    problems = check_compatibility(manifest, "linux", {"python": "3.8.0", "uv": None})
    assert [p.subject for p in problems] == ["uv"]


def test_the_command_decides_the_runtime() -> None:
    raw = minimal_manifest()
    raw["server"] = {
        "type": "python",
        "entry_point": "main.py",
        "mcp_config": {
            "command": "uv",
            "args": ["run", "main.py"],
            "platform_overrides": {"win32": {"command": "node"}},
        },
    }
    manifest = validate_manifest(raw)[0]
    assert required_runtime(manifest, "linux") == "uv"
    assert required_runtime(manifest, "win32") == "node"


def test_client_ranges_are_checked_when_asked() -> None:
    manifest = manifest_with(compatibility={"tether": ">=0.2.0"})
    (problem,) = check_compatibility(manifest, "linux", clients={"tether": "0.1.0"})
    assert problem.kind == "client"
    assert check_compatibility(manifest, "linux", clients={"tether": "0.2.1"}) == []
