"""Can this machine run the extension? Platform, runtimes (node, python, uv) and client ranges.

Returns problems as data with a sentence a user can act on. Pure: the caller says which
platform this is and which runtime versions it found (this module starts no process).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from tether.extensions.manifest_model import Manifest, ServerType
from tether.extensions.semver import Range, Version

_PLATFORM_NAMES = {"darwin": "macOS", "win32": "Windows", "linux": "Linux"}
_RUNTIME_NAMES = {"node": "Node", "python": "Python", "uv": "uv"}
_COMMAND_RUNTIMES = {"node": "node", "python": "python", "python3": "python", "uv": "uv", "uvx": "uv"}


@dataclass(frozen=True, slots=True)
class CompatibilityProblem:
    """One reason the extension may not run here. ``kind`` is platform, runtime or client."""

    kind: str
    subject: str
    message: str
    required: str | None = None
    found: str | None = None

    def __str__(self) -> str:
        return self.message


def normalize_platform(platform: str) -> str:
    """Map ``sys.platform`` values to the manifest's names (linux2, cygwin... stay as they are)."""
    return "linux" if platform.startswith("linux") else platform


def required_runtime(manifest: Manifest, platform: str = sys.platform) -> str | None:
    """The runtime the server's command needs on ``platform``: node, python, uv or None."""
    config = manifest.server.mcp_config
    if config is not None:
        command = config.for_platform(normalize_platform(platform)).command
        base = command.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe")
        if base in _COMMAND_RUNTIMES:
            return _COMMAND_RUNTIMES[base]
        if manifest.server.type is not ServerType.UV:
            return None
    return {ServerType.NODE: "node", ServerType.PYTHON: "python", ServerType.UV: "uv"}.get(
        manifest.server.type
    )


def check_compatibility(
    manifest: Manifest,
    platform: str = sys.platform,
    runtimes: Mapping[str, str | None] | None = None,
    clients: Mapping[str, str] | None = None,
) -> list[CompatibilityProblem]:
    """Everything that stands between this machine and running the extension.

    ``runtimes`` maps ``node``/``python``/``uv`` to the version found (``v20.1.0`` and
    ``3.11.7`` both read) or None when it is not installed; a runtime missing from the mapping
    is not checked. ``clients`` maps client names (e.g. ``tether``) to their versions, checked
    against the matching ``compatibility`` entries.
    """
    problems: list[CompatibilityProblem] = []
    here = normalize_platform(platform)
    allowed = manifest.compatibility.platforms
    if allowed is not None and here not in allowed:
        names = ", ".join(_PLATFORM_NAMES.get(p, p) for p in allowed) or "no platform"
        problems.append(
            CompatibilityProblem(
                "platform",
                here,
                f"{manifest.title} runs on {names} only; this machine runs {_PLATFORM_NAMES.get(here, here)}",
                ", ".join(allowed),
                here,
            )
        )
    if runtimes is not None:
        problems.extend(_runtime_problems(manifest, here, runtimes))
    for client, found in (clients or {}).items():
        spec = manifest.compatibility.clients.get(client)
        if spec is not None and not _satisfies(spec, found):
            problems.append(
                CompatibilityProblem(
                    "client", client, f"needs {client} {spec}, this is {client} {found}", spec, found
                )
            )
    return problems


def _runtime_problems(
    manifest: Manifest, platform: str, runtimes: Mapping[str, str | None]
) -> list[CompatibilityProblem]:
    needed = required_runtime(manifest, platform)
    declared = dict(manifest.compatibility.runtimes)
    if manifest.server.type is ServerType.UV:
        declared.pop("python", None)  # uv fetches the Python the project asks for
    to_check: list[str] = [needed] if needed else []
    to_check += [runtime for runtime in declared if runtime != needed]
    problems: list[CompatibilityProblem] = []
    for runtime in to_check:
        if runtime not in runtimes:
            continue
        spec, found = declared.get(runtime), runtimes[runtime]
        problem = _runtime_problem(runtime, spec, found, is_needed=runtime == needed)
        if problem is not None:
            problems.append(problem)
    return problems


def _runtime_problem(
    runtime: str, spec: str | None, found: str | None, *, is_needed: bool
) -> CompatibilityProblem | None:
    label = _RUNTIME_NAMES.get(runtime, runtime)
    if found is None:
        if not is_needed and spec is None:
            return None
        wanted = f" {spec}" if spec else ""
        return CompatibilityProblem(
            "runtime",
            runtime,
            f"needs {runtime}{wanted}, but {runtime} was not found on this machine: "
            f"install {_advice(label, spec)}",
            spec,
            None,
        )
    if spec is None or _satisfies(spec, found):
        return None
    shown = found.strip().removeprefix("v")
    return CompatibilityProblem(
        "runtime",
        runtime,
        f"needs {runtime} {spec}, this machine has {shown}: install {_advice(label, spec)}",
        spec,
        shown,
    )


def _advice(label: str, spec: str | None) -> str:
    if not spec:
        return label
    lowest = Range.parse(spec).min_version()
    if lowest is not None and lowest > Version(0, 0, 0) and _satisfies_upwards(spec):
        return f"{label} {lowest.short} or newer"
    return f"a {label} version matching {spec}"


def _satisfies_upwards(spec: str) -> bool:
    """Whether every version past the minimum is fine (no upper bound), so "or newer" is true."""
    return Range.parse(spec).contains(Version(10_000), include_prerelease=True)


def _satisfies(spec: str, found: str) -> bool:
    try:
        return Range.parse(spec).contains(Version.parse(found), include_prerelease=True)
    except ValueError:
        return False
