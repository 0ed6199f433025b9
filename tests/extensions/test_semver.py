"""npm-style ranges: the forms manifests use, with npm's answers."""

from __future__ import annotations

import pytest

from tether.extensions.semver import Range, Version


@pytest.mark.parametrize(
    ("spec", "version", "expected"),
    [
        (">=16.0.0", "16.0.0", True),
        (">=16.0.0", "15.9.9", False),
        (">=3.8", "3.11.7", True),
        (">1.2", "1.2.9", False),
        (">1.2", "1.3.0", True),
        ("<=1.2", "1.2.99", True),
        ("<=1.2", "1.3.0", False),
        ("<2", "1.99.0", True),
        ("<2", "2.0.0", False),
        ("=1.2.3", "1.2.3", True),
        ("1.2", "1.2.7", True),
        ("1.2", "1.3.0", False),
        ("^1.2.3", "1.9.0", True),
        ("^1.2.3", "2.0.0", False),
        ("^0.2.3", "0.2.9", True),
        ("^0.2.3", "0.3.0", False),
        ("^0.0.3", "0.0.4", False),
        ("^1.x", "1.0.0", True),
        ("^0.x", "0.9.0", True),
        ("~1.2.3", "1.2.9", True),
        ("~1.2.3", "1.3.0", False),
        ("~1", "1.9.0", True),
        ("~> 1.2", "1.2.5", True),
        ("1.x", "1.4.2", True),
        ("1.x", "2.0.0", False),
        ("1.2.*", "1.2.0", True),
        ("*", "0.0.1", True),
        ("", "5.0.0", True),
        (">=1.2.3 <2.0.0", "1.5.0", True),
        (">=1.2.3 <2.0.0", "2.0.0", False),
        (">= 3.8.0 < 4", "3.12.1", True),
        (">=3.8,<4.0", "3.12.1", True),
        (">=3.8,<4.0", "4.0.0", False),
        ("1.2.3 - 2.3.4", "2.3.4", True),
        ("1.2.3 - 2.3", "2.3.9", True),
        ("1.2.3 - 2.3", "2.4.0", False),
        ("1.2 - 2", "2.9.9", True),
        ("<14 || >=16", "15.0.0", False),
        ("<14 || >=16", "20.20.2", True),
        ("^18 || ^20 || ^22", "20.20.2", True),
        ("v1.2.3", "1.2.3", True),
        (">=1.0.0", "2.0.0-beta.1", False),
        (">=2.0.0-alpha", "2.0.0-beta.1", True),
        (">=2.0.0-alpha", "2.0.1-beta.1", False),
        (">*", "1.0.0", False),
        ("<*", "1.0.0", False),
    ],
)
def test_range_matches_like_npm(spec: str, version: str, expected: bool) -> None:
    assert Range.parse(spec).contains(version) is expected


def test_prerelease_ordering_follows_semver() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
    ]
    versions = [Version.parse(v) for v in [*ordered, "1.0.0-rc.1", "1.0.0"]]
    assert versions == sorted(versions)


def test_runtime_prereleases_can_be_included() -> None:
    assert Range.parse(">=3.8").contains("3.13.0rc1", include_prerelease=True)


@pytest.mark.parametrize("text", ["v20.20.2", "20.20.2", "20.x", "3.11", "3"])
def test_versions_are_read_leniently(text: str) -> None:
    assert Version.parse(text).major in (20, 3)


@pytest.mark.parametrize("spec", ["banana", ">=1.2.3.4", "!=1.0"])
def test_nonsense_ranges_raise(spec: str) -> None:
    with pytest.raises(ValueError, match="not a version"):
        Range.parse(spec)


@pytest.mark.parametrize(
    ("spec", "lowest"),
    [(">=22.0.0", "22.0.0"), ("^18 || ^20", "18.0.0"), (">1.2.3", "1.2.4"), ("<2", "0.0.0"), (">3 <2", None)],
)
def test_min_version(spec: str, lowest: str | None) -> None:
    found = Range.parse(spec).min_version()
    assert (str(found) if found else None) == lowest
