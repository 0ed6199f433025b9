"""npm-style semantic version ranges, as manifests write them in ``compatibility``.

Covers ``>= <= > < =``, ``^``, ``~``, x-ranges (``1.x``, ``*``), hyphen ranges, space-separated
AND, ``||`` OR and, leniently, commas as AND (``>=3.8,<4.0`` appears in the spec's own text).
``packaging`` speaks PEP 440, not npm, hence this small parser. Pure functions, no I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_WILDCARDS = frozenset({"x", "X", "*"})
_VERSION = re.compile(
    r"^v?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*]))?(?:\.(?P<patch>\d+|[xX*]))?"
    r"(?:-?(?P<pre>[0-9A-Za-z][0-9A-Za-z.-]*))?(?:\+[0-9A-Za-z.-]+)?$"
)
_COMPARATOR = re.compile(r"^(?P<op><=|>=|<|>|==|=|~>|~|\^)?\s*=?(?P<version>.*)$")
_HYPHEN = re.compile(r"^\s*(?P<low>\S+)\s+-\s+(?P<high>\S+)\s*$")
_OP_SPACE = re.compile(r"(<=|>=|<|>|==|=|~>|~|\^)\s+")

PreId = int | str


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    """A semantic version; ``prerelease`` identifiers compare numerically when numeric."""

    major: int
    minor: int = 0
    patch: int = 0
    prerelease: tuple[PreId, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        """Read a version leniently: ``v20.1.0``, ``3.11``, ``20.x``, ``3.13.0rc1``."""
        parts = _parse_partial(text.strip())
        if parts is None:
            raise ValueError(f"'{text}' is not a version")
        major, minor, patch, pre = parts
        return cls(major or 0, minor or 0, patch or 0, pre)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        pre = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core + ("-" + ".".join(str(p) for p in self.prerelease) if self.prerelease else "")

    @property
    def short(self) -> str:
        """The version without trailing zero parts, for sentences: ``22``, ``3.10``, ``1.2.3``."""
        if self.patch or self.prerelease:
            return str(self)
        return f"{self.major}.{self.minor}" if self.minor else str(self.major)


@dataclass(frozen=True, slots=True)
class Comparator:
    op: str  # one of < <= > >= =
    version: Version

    def test(self, version: Version) -> bool:
        if self.op == "<":
            return version < self.version
        if self.op == "<=":
            return version <= self.version
        if self.op == ">":
            return version > self.version
        if self.op == ">=":
            return version >= self.version
        return version == self.version


_NOTHING = (Comparator("<", Version(0, 0, 0, (0,))),)


@dataclass(frozen=True, slots=True)
class Range:
    """A parsed range: OR of AND-sets of comparators. An empty AND-set matches everything."""

    text: str
    sets: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        sets = tuple(_parse_and_set(part) for part in text.split("||"))
        return cls(text.strip(), sets)

    def contains(self, version: Version | str, *, include_prerelease: bool = False) -> bool:
        """Whether ``version`` satisfies the range (npm ``satisfies``)."""
        v = Version.parse(version) if isinstance(version, str) else version
        return any(_test_set(s, v, include_prerelease) for s in self.sets)

    def min_version(self) -> Version | None:
        """The lowest version that satisfies the range, or None if nothing can."""
        best: Version | None = None
        for comparators in self.sets:
            low = Version(0, 0, 0)
            for c in comparators:
                candidate = c.version
                if c.op == ">":
                    candidate = (
                        Version(candidate.major, candidate.minor, candidate.patch + 1)
                        if not candidate.prerelease
                        else Version(*_core(candidate), (*candidate.prerelease, 0))
                    )
                if c.op in (">", ">=", "=") and candidate > low:
                    low = candidate
            if _test_set(comparators, low, include_prerelease=True) and (best is None or low < best):
                best = low
        return best


def _core(v: Version) -> tuple[int, int, int]:
    return (v.major, v.minor, v.patch)


def _test_set(comparators: tuple[Comparator, ...], version: Version, include_prerelease: bool) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if not version.prerelease or include_prerelease:
        return True
    # npm: a prerelease only matches a set that names a prerelease of the same x.y.z.
    return any(c.version.prerelease and _core(c.version) == _core(version) for c in comparators)


Partial = tuple[int | None, int | None, int | None, tuple[PreId, ...]]


def _parse_partial(text: str) -> Partial | None:
    if text in ("", "*", "x", "X"):
        return (None, None, None, ())
    m = _VERSION.match(text)
    if m is None:
        return None
    numbers: list[int | None] = []
    for name in ("major", "minor", "patch"):
        raw = m.group(name)
        numbers.append(None if raw is None or raw in _WILDCARDS else int(raw))
    # Anything after a wildcard is a wildcard too (1.x.3 means 1.x).
    for i in range(1, 3):
        if numbers[i - 1] is None:
            numbers[i] = None
    pre_raw = m.group("pre")
    pre: tuple[PreId, ...] = ()
    if pre_raw:
        if numbers[2] is None:
            return None
        pre = tuple(int(p) if p.isdigit() else p for p in pre_raw.split(".") if p)
    return (numbers[0], numbers[1], numbers[2], pre)


def _parse_and_set(text: str) -> tuple[Comparator, ...]:
    text = text.strip()
    hyphen = _HYPHEN.match(text)
    if hyphen:
        return _hyphen_range(hyphen.group("low"), hyphen.group("high"), text)
    text = _OP_SPACE.sub(r"\1", text.replace(",", " "))
    comparators: list[Comparator] = []
    for token in text.split():
        comparators.extend(_desugar(token))
    return tuple(comparators)


def _partial_or_fail(text: str, whole: str) -> Partial:
    parts = _parse_partial(text)
    if parts is None:
        raise ValueError(f"'{whole}' is not a version range")
    return parts


def _hyphen_range(low_text: str, high_text: str, whole: str) -> tuple[Comparator, ...]:
    lo_major, lo_minor, lo_patch, lo_pre = _partial_or_fail(low_text, whole)
    hi_major, hi_minor, hi_patch, hi_pre = _partial_or_fail(high_text, whole)
    out: list[Comparator] = []
    if lo_major is not None:
        out.append(Comparator(">=", Version(lo_major, lo_minor or 0, lo_patch or 0, lo_pre)))
    if hi_major is None:
        pass
    elif hi_minor is None:
        out.append(Comparator("<", Version(hi_major + 1, 0, 0, (0,))))
    elif hi_patch is None:
        out.append(Comparator("<", Version(hi_major, hi_minor + 1, 0, (0,))))
    else:
        out.append(Comparator("<=", Version(hi_major, hi_minor, hi_patch, hi_pre)))
    return tuple(out)


def _desugar(token: str) -> tuple[Comparator, ...]:
    m = _COMPARATOR.match(token)
    if m is None:  # pragma: no cover - the pattern accepts every string
        raise ValueError(f"'{token}' is not a version range")
    op = m.group("op") or "="
    major, minor, patch, pre = _partial_or_fail(m.group("version"), token)
    if op in ("=", "=="):
        return _x_range(major, minor, patch, pre)
    if op in ("~", "~>"):
        return _tilde(major, minor, patch, pre)
    if op == "^":
        return _caret(major, minor, patch, pre)
    return _primitive(op, major, minor, patch, pre)


def _x_range(
    major: int | None, minor: int | None, patch: int | None, pre: tuple[PreId, ...]
) -> tuple[Comparator, ...]:
    if major is None:
        return ()
    if minor is None:
        return (Comparator(">=", Version(major)), Comparator("<", Version(major + 1, 0, 0, (0,))))
    if patch is None:
        return (
            Comparator(">=", Version(major, minor)),
            Comparator("<", Version(major, minor + 1, 0, (0,))),
        )
    return (Comparator("=", Version(major, minor, patch, pre)),)


def _tilde(
    major: int | None, minor: int | None, patch: int | None, pre: tuple[PreId, ...]
) -> tuple[Comparator, ...]:
    if major is None:
        return ()
    if minor is None:
        return _x_range(major, None, None, ())
    low = Version(major, minor, patch or 0, pre)
    return (Comparator(">=", low), Comparator("<", Version(major, minor + 1, 0, (0,))))


def _caret(
    major: int | None, minor: int | None, patch: int | None, pre: tuple[PreId, ...]
) -> tuple[Comparator, ...]:
    if major is None:
        return ()
    low = Version(major, minor or 0, patch or 0, pre)
    if minor is None or major > 0:
        high = Version(major + 1, 0, 0, (0,))
    elif patch is None or minor > 0:
        high = Version(0, minor + 1, 0, (0,))
    else:
        high = Version(0, 0, patch + 1, (0,))
    return (Comparator(">=", low), Comparator("<", high))


def _primitive(
    op: str, major: int | None, minor: int | None, patch: int | None, pre: tuple[PreId, ...]
) -> tuple[Comparator, ...]:
    if major is None:
        return () if op in (">=", "<=") else _NOTHING
    if minor is not None and patch is not None:
        return (Comparator(op, Version(major, minor, patch, pre)),)
    # Partial versions: >1.2 means >=1.3.0, <=1.2 means <1.3.0-0, <1.2 means <1.2.0-0.
    if op == ">":
        bumped = Version(major + 1) if minor is None else Version(major, minor + 1)
        return (Comparator(">=", bumped),)
    if op == "<=":
        bumped = Version(major + 1, 0, 0, (0,)) if minor is None else Version(major, minor + 1, 0, (0,))
        return (Comparator("<", bumped),)
    if op == "<":
        return (Comparator("<", Version(major, minor or 0, 0, (0,))),)
    return (Comparator(">=", Version(major, minor or 0, 0)),)
