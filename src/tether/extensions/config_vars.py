"""``${...}`` substitution in mcp_config, as the reference CLI does it (src/shared/config.ts).

Variables: ``__dirname``, ``HOME``, ``DESKTOP``, ``DOCUMENTS``, ``DOWNLOADS``,
``pathSeparator`` and ``/``, and ``user_config.KEY``. An argument that is exactly
``${user_config.KEY}`` with a list value becomes several arguments. Pure functions, except
``SystemDirs.of_this_user``, which asks the OS.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import platformdirs

from tether.types import JSON

VariableValue = str | tuple[str, ...]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_WHOLE_USER_CONFIG = re.compile(r"^\$\{(user_config\.[^}]+)\}$")


@dataclass(frozen=True, slots=True)
class SystemDirs:
    """The user's well-known folders, as the target platform spells them."""

    home: str
    desktop: str
    documents: str
    downloads: str

    @classmethod
    def under_home(cls, home: str, path_separator: str = "/") -> SystemDirs:
        """The usual layout: ``<home>/Desktop``, ``<home>/Documents``, ``<home>/Downloads``."""
        home = home.rstrip("/\\") or home
        return cls(
            home,
            f"{home}{path_separator}Desktop",
            f"{home}{path_separator}Documents",
            f"{home}{path_separator}Downloads",
        )

    @classmethod
    def of_this_user(cls) -> SystemDirs:
        """This user's folders as the OS reports them (what Claude Desktop gets from Electron)."""
        return cls(
            str(Path.home()),
            platformdirs.user_desktop_dir(),
            platformdirs.user_documents_dir(),
            platformdirs.user_downloads_dir(),
        )

    def variables(self) -> dict[str, str]:
        return {
            "HOME": self.home,
            "DESKTOP": self.desktop,
            "DOCUMENTS": self.documents,
            "DOWNLOADS": self.downloads,
        }


def base_variables(bundle_dir: str, dirs: SystemDirs, path_separator: str) -> dict[str, VariableValue]:
    """Everything but ``user_config.*``, in the reference's order."""
    return {"__dirname": bundle_dir, "pathSeparator": path_separator, "/": path_separator, **dirs.variables()}


def user_config_variables(values: Mapping[str, object]) -> dict[str, VariableValue]:
    """``user_config.KEY`` for each value: lists stay lists, booleans become "true"/"false"."""
    variables: dict[str, VariableValue] = {}
    for key, value in values.items():
        if isinstance(value, list | tuple):
            variables[f"user_config.{key}"] = tuple(js_string(item) for item in cast(Sequence[Any], value))
        else:
            variables[f"user_config.{key}"] = js_string(value)
    return variables


def replace_variables(value: JSON, variables: Mapping[str, VariableValue]) -> JSON:
    """Substitute ``${NAME}`` in strings, lists and objects (keys are left alone).

    Unknown variables stay as written, like the reference. Unlike the reference (which runs
    ``String.replace`` once per variable), substituted text is not scanned again and ``$``
    in a value is taken literally.
    """
    if isinstance(value, str):
        return substitute(value, variables)
    if isinstance(value, list | tuple):
        result: list[JSON] = []
        for item in cast(Sequence[JSON], value):
            whole = _WHOLE_USER_CONFIG.match(item) if isinstance(item, str) else None
            if whole is None:
                result.append(replace_variables(item, variables))
                continue
            replacement = variables.get(whole.group(1))
            if isinstance(replacement, tuple):
                result.extend(replacement)
            elif replacement:
                result.append(replacement)
            else:  # unknown or empty: the reference keeps the item as written
                result.append(item)
        return result
    if isinstance(value, Mapping):
        return {k: replace_variables(v, variables) for k, v in cast(Mapping[str, JSON], value).items()}
    return value


def substitute(text: str, variables: Mapping[str, VariableValue]) -> str:
    """Substitute ``${NAME}`` in one string; list values cannot go in a string and stay as written."""

    def one(match: re.Match[str]) -> str:
        replacement = variables.get(match.group(1))
        return replacement if isinstance(replacement, str) else match.group(0)

    return _VARIABLE.sub(one, text)


def js_string(value: object) -> str:
    """``String(value)`` as JavaScript writes it: true/false, 10 not 10.0, 1e+21."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**21 else js_string(float(value))
    if isinstance(value, float):
        return _js_number(value)
    return str(value)


def _js_number(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # Number::toString: shortest round-trip digits, then decimal or exponent layout.
    digits_tuple = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, digits_tuple.digits))
    k = len(digits)
    n = int(digits_tuple.exponent) + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    exponent = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"
