"""Settings: defaults, tether.toml, TETHER_* variables, and docs that cover every one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.config import SETTINGS, load_settings
from tether.errors import UsageError

DOCS = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_environment_overrides_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "tether.toml"
    config.write_text("port = 9000\napproval_timeout_s = 12\n")
    settings = load_settings(
        {"TETHER_HOME": str(tmp_path), "TETHER_CONFIG": str(config), "TETHER_PORT": "9100"}
    )
    assert settings.port == 9100
    assert settings.approval_timeout_s == 12.0
    assert settings.host == "127.0.0.1"


def test_an_unknown_setting_is_refused_by_name(tmp_path: Path) -> None:
    config = tmp_path / "tether.toml"
    config.write_text("prot = 9000\n")
    with pytest.raises(UsageError, match="prot"):
        load_settings({"TETHER_HOME": str(tmp_path), "TETHER_CONFIG": str(config)})


def test_a_setting_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="port"):
        load_settings(
            {"TETHER_HOME": str(tmp_path), "TETHER_CONFIG": str(tmp_path / "none.toml"), "TETHER_PORT": "x"}
        )


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    assert [name for name in SETTINGS if f"`{name}`" not in text] == []


def test_a_boolean_setting_reads_toml_and_environment_spellings(tmp_path: Path) -> None:
    config = tmp_path / "tether.toml"
    config.write_text("require_signed_extensions = true\n")
    base = {"TETHER_HOME": str(tmp_path), "TETHER_CONFIG": str(config)}
    assert load_settings(base).require_signed_extensions is True
    overridden = load_settings({**base, "TETHER_REQUIRE_SIGNED_EXTENSIONS": "no"})
    assert overridden.require_signed_extensions is False
    with pytest.raises(UsageError, match="require_signed_extensions"):
        load_settings({**base, "TETHER_REQUIRE_SIGNED_EXTENSIONS": "perhaps"})
