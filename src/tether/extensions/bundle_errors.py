"""Errors of the bundle layer, kept here until the lead moves them into ``tether.errors``.

Each names what is wrong and where: a member of the zip, or a field path in manifest.json or
in the user's settings. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tether.errors import UsageError


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one field, e.g. ``user_config.api_key.type``: must be one of ..."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"`{self.path}`: {self.message}" if self.path else self.message


class BundleError(UsageError):
    """A bundle that tether refuses to open, unpack or pack."""

    code = "invalid_bundle"


class InvalidManifest(BundleError):
    """manifest.json that does not describe a runnable extension; ``problems`` lists every field."""

    code = "invalid_manifest"

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(_join("manifest.json is not valid", self.problems))


class InvalidUserConfig(UsageError):
    """Settings that do not fit the extension's ``user_config``; ``problems`` lists every field."""

    code = "invalid_user_config"

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(_join("the extension's settings are not valid", self.problems))


def _join(headline: str, problems: tuple[FieldProblem, ...]) -> str:
    return headline + ":\n" + "\n".join(f"  - {problem}" for problem in problems)
